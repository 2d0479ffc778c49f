/**
 * `latchkey/flask`: for an app moving from Flask-JWT-Extended (and Flask-Login). `fromFlaskConfig`
 * turns its `JWT_*` settings into `createAuth` options that answer its clients as it did; see
 * docs/migrating-from-flask.md for every setting, function, decorator, loader and signal beside
 * latchkey's, and for what stays different on purpose. No dependency beyond latchkey itself.
 */
export { type FlaskAuthOptions, type FromFlaskConfigOptions, fromFlaskConfig } from './core/flask/config.js'
export { FLASK_JWT_DEFAULTS, type FlaskConfig, type FlaskJwtSettings } from './core/flask/settings.js'
