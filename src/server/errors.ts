/**
 * The server's errors are the login API's (`latchkey/login`): a status, a stable code and a message,
 * rendered as `{msg, code}` like latchkey's token errors.
 */
export {
  invalidCredentials,
  LoginError as ApiError,
  type LoginErrorCode as ServerErrorCode,
  orUnavailable,
  serviceUnavailable,
  validationFailed,
} from '../login/index.js'
