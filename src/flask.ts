/**
 * `latchkey/flask`: for an app moving from Flask-JWT-Extended (and Flask-Login). `fromFlaskConfig`
 * turns its `JWT_*` settings into `createAuth` options that answer its clients as it did; see
 * docs/migrating-from-flask.md for every setting, function, decorator, loader and signal beside
 * latchkey's, and for what stays different on purpose. No dependency beyond latchkey itself.
 */
export {
  FLASK_JWT_DEFAULTS,
  type FlaskAuthOptions,
  type FlaskConfig,
  type FlaskJwtSettings,
  type FromFlaskConfigOptions,
  fromFlaskConfig,
} from './core/flask/config.js'
