"""The kind of Flask API latchkey started from: Flask-JWT-Extended and Flask-Login, tokens in JSON bodies.

Login checks JSON credentials, calls login_user(user, remember=...) and returns an access token whose
`sub` is the email. Every request carries its token in its JSON body (JWT_TOKEN_LOCATION = ["json"]);
a request_loader turns it into the current user. No session cookie: the token is the login.

Its latchkey twin is latchkey.ts, beside this file; test/flask/port.test.ts runs both and compares
them. Run it with `python examples/flask-port/app.py` (Flask, Flask-JWT-Extended, Flask-Login).
"""

import hmac
import json
import os
import sys

from flask import Flask, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask_jwt_extended import JWTManager, create_access_token, get_jwt_identity, verify_jwt_in_request
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user

SECRET = os.environ.get("EXAMPLE_SECRET", "example-only-secret-change-me-0123456789abcdefghijklmnop")

# In an app: a database and password hashes (argon2id), never plain passwords.
USERS = {
    "ann@example.com": {"name": "Ann", "password": "correct horse", "active": True},
    "bob@example.com": {"name": "Bob", "password": "battery staple", "active": False},
}


class User(UserMixin):
    def __init__(self, email, record):
        self.id = email  # Flask-Login's identity: the email, which is also the token's sub
        self.name = record["name"]
        self.active = record["active"]

    @property
    def is_active(self):
        return self.active


def find_user(email):
    record = USERS.get(email) if isinstance(email, str) else None
    return User(email, record) if record else None


class NoSessionCookie(SecureCookieSessionInterface):
    """Tokens, not cookies, carry the login: the session is never saved."""

    def save_session(self, app, session, response):
        pass


app = Flask(__name__)
app.config.update(
    SECRET_KEY=SECRET,
    JWT_SECRET_KEY=SECRET,
    JWT_TOKEN_LOCATION=["json"],
    JWT_ACCESS_TOKEN_EXPIRES=3600,
)
app.session_interface = NoSessionCookie()
jwt = JWTManager(app)
login_manager = LoginManager(app)


@login_manager.request_loader
def user_from_token(req):
    # A missing token is an anonymous request; a bad one is refused by Flask-JWT-Extended (401/422).
    verify_jwt_in_request(optional=True, locations=["json"])
    email = get_jwt_identity()
    return find_user(email) if email else None


@login_manager.unauthorized_handler
def unauthorized():
    return jsonify(msg="Login required"), 401


@app.post("/login")
def login():
    data = request.get_json(silent=True) or {}
    user = find_user(data.get("email"))
    password = data.get("password")
    if user is None or not isinstance(password, str) or not hmac.compare_digest(
        USERS[user.id]["password"].encode(), password.encode()
    ):
        return jsonify(msg="Bad email or password"), 401
    if not login_user(user, remember=data.get("remember") is True):
        return jsonify(msg="Account disabled"), 403
    token = create_access_token(identity=user.id, fresh=True)
    return jsonify(access_token=token, expires_in=app.config["JWT_ACCESS_TOKEN_EXPIRES"])


@app.post("/me")
@login_required
def me():
    return jsonify(email=current_user.id, name=current_user.name)


@app.post("/logout")
@login_required
def logout():
    logout_user()
    return jsonify(msg="Logged out")


if __name__ == "__main__":
    from werkzeug.serving import make_server

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(json.dumps({"port": server.server_port}), flush=True)
    server.serve_forever()
