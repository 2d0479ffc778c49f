"""The oracle of the differential suite: real Flask-JWT-Extended apps, one per configuration.

One long-running process (Werkzeug's threaded server on 127.0.0.1, port printed as JSON on the
first line of stdout) builds a fresh Flask app for each configuration it is sent
(POST /__apps {"config": {...JWT_* settings...}, "features": {...}} -> {"id": n}) and routes every
other request to the app named by its X-Oracle-App header. Every app has the same routes; the
latchkey twin of test/flask/twin.ts has the same routes, built from the same configuration.

Durations arrive as seconds (Flask-JWT-Extended turns an int into a timedelta itself).
"""

import json
import sys
import threading
from datetime import timedelta

from flask import Flask, jsonify, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_current_user,
    get_jwt,
    get_jwt_header,
    get_jwt_identity,
    get_jwt_request_location,
    jwt_required,
    set_access_cookies,
    set_refresh_cookies,
    unset_access_cookies,
    unset_jwt_cookies,
    unset_refresh_cookies,
    verify_jwt_in_request,
)
from werkzeug.serving import WSGIRequestHandler, make_server

APPS = {}
LOCK = threading.Lock()


def build(config, features):
    app = Flask(f"oracle{len(APPS)}")
    app.config.update(config)
    jwt = JWTManager(app)
    users = features.get("users")
    custom = features.get("customErrors", False)

    if users is not None:

        @jwt.user_lookup_loader
        def user_lookup(_header, data):
            return users.get(str(data[app.config.get("JWT_IDENTITY_CLAIM", "sub")]))

    if "blocklist" in features:
        blocked = set(features["blocklist"])

        @jwt.token_in_blocklist_loader
        def blocklist(_header, data):
            return data["jti"] in blocked

    if "requireClaim" in features:
        name, value = features["requireClaim"]

        @jwt.token_verification_loader
        def verify_claims(_header, data):
            return data.get(name) == value

    if "additionalClaims" in features:

        @jwt.additional_claims_loader
        def claims(identity):
            return dict(features["additionalClaims"])

    if "additionalHeaders" in features:

        @jwt.additional_headers_loader
        def headers(identity):
            return dict(features["additionalHeaders"])

    if "keysByKid" in features:
        # decode_key_loader / encode_key_loader: one secret per identity, named by a kid.
        by_kid = features["keysByKid"]
        by_identity = features["kidByIdentity"]

        @jwt.decode_key_loader
        def decode_key(header, _payload):
            return by_kid.get(header.get("kid"), app.config["JWT_SECRET_KEY"])

        @jwt.encode_key_loader
        def encode_key(identity):
            kid = by_identity.get(identity)
            return by_kid[kid] if kid else app.config["JWT_SECRET_KEY"]

        @jwt.additional_headers_loader
        def kid_header(identity):
            kid = by_identity.get(identity)
            return {"kid": kid} if kid else {}

    if "identityOf" in features:
        # user_identity_loader: tokens are made for user objects (dicts here).
        field = features["identityOf"]

        @jwt.user_identity_loader
        def identity_of(user):
            return user[field] if isinstance(user, dict) else user

    if custom:
        # Every loader answers with its own body, built from what it is given.
        @jwt.expired_token_loader
        def expired(header, data):
            return jsonify(error="expired", sub=data.get("sub"), alg=header.get("alg"), type=data.get("type")), 419

        @jwt.invalid_token_loader
        def invalid(reason):
            return jsonify(error="invalid", reason=reason), 418

        @jwt.unauthorized_loader
        def unauthorized(reason):
            return jsonify(error="unauthorized", reason=reason), 403

        @jwt.needs_fresh_token_loader
        def needs_fresh(header, data):
            return jsonify(error="stale", sub=data.get("sub"), fresh=data.get("fresh"), typ=header.get("typ")), 403

        @jwt.revoked_token_loader
        def revoked(header, data):
            return jsonify(error="revoked", jti=data.get("jti"), alg=header.get("alg")), 410

        @jwt.user_lookup_error_loader
        def lookup_error(header, data):
            return jsonify(error="no user", sub=data.get("sub"), alg=header.get("alg")), 404

        @jwt.token_verification_failed_loader
        def claims_failed(header, data):
            return jsonify(error="claims", role=data.get("role"), alg=header.get("alg")), 409

    def body():
        out = {
            "identity": get_jwt_identity(),
            "claims": get_jwt(),
            "header": get_jwt_header(),
            "location": get_jwt_request_location(),
        }
        if users is not None:
            out["user"] = get_current_user()
        return jsonify(out)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.route("/protected", methods=methods)
    @jwt_required()
    def protected():
        return body()

    @app.route("/optional", methods=methods)
    @jwt_required(optional=True)
    def optional():
        return body()

    @app.route("/fresh", methods=methods)
    @jwt_required(fresh=True)
    def fresh():
        return body()

    @app.route("/refresh", methods=methods)
    @jwt_required(refresh=True)
    def refresh():
        return body()

    @app.route("/any", methods=methods)
    @jwt_required(verify_type=False)
    def any_type():
        return body()

    @app.route("/skip", methods=methods)
    @jwt_required(skip_revocation_check=True)
    def skip():
        return body()

    @app.route("/loc/<locations>", methods=methods)
    def located(locations):
        verify_jwt_in_request(locations=locations.split(","))
        return body()

    @app.route("/verify", methods=methods)
    def verify():
        # verify_jwt_in_request, with its arguments from the query string.
        flags = {k: request.args.get(k) == "1" for k in ("optional", "fresh", "refresh")}
        if request.args.get("verify_type") == "0":
            flags["verify_type"] = False
        if request.args.get("skip_revocation_check") == "1":
            flags["skip_revocation_check"] = True
        result = verify_jwt_in_request(**flags)
        if result is None:
            return jsonify(verified=None, claims=get_jwt())
        header, data = result
        return jsonify(verified=True, header=header, claims=data)

    @app.post("/decode")
    def decode():
        payload = request.get_json()
        data = decode_token(payload["token"], allow_expired=payload.get("allowExpired", False))
        return jsonify(claims=data)

    @app.post("/tokens")
    def tokens():
        spec = request.get_json()
        identity = spec["identity"]
        kwargs = {}
        if "expires" in spec:
            kwargs["expires_delta"] = False if spec["expires"] is False else timedelta(seconds=spec["expires"])
        if "claims" in spec:
            kwargs["additional_claims"] = spec["claims"]
        if "headers" in spec:
            kwargs["additional_headers"] = spec["headers"]
        if spec.get("type") == "refresh":
            token = create_refresh_token(identity, **kwargs)
        else:
            fresh = spec.get("fresh", False)
            if isinstance(fresh, (int, float)) and not isinstance(fresh, bool):
                fresh = timedelta(seconds=fresh)
            token = create_access_token(identity, fresh=fresh, **kwargs)
        return jsonify(token=token)

    @app.post("/cookies/<operation>")
    def cookies(operation):
        spec = request.get_json()
        response = jsonify(ok=True)
        domain = spec.get("domain")
        if operation == "set-access":
            set_access_cookies(response, spec["token"], max_age=spec.get("maxAge"), domain=domain)
        elif operation == "set-refresh":
            set_refresh_cookies(response, spec["token"], max_age=spec.get("maxAge"), domain=domain)
        elif operation == "unset-access":
            unset_access_cookies(response, domain)
        elif operation == "unset-refresh":
            unset_refresh_cookies(response, domain)
        elif operation == "unset-jwt":
            unset_jwt_cookies(response, domain)
        return response

    return app


def dispatcher(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/__apps" and environ["REQUEST_METHOD"] == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        spec = json.loads(environ["wsgi.input"].read(size))
        try:
            app = build(spec["config"], spec.get("features", {}))
        except Exception as error:  # a configuration Flask-JWT-Extended refuses
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [json.dumps({"error": repr(error)}).encode()]
        with LOCK:
            app_id = str(len(APPS) + 1)
            APPS[app_id] = app
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"id": app_id}).encode()]
    app = APPS.get(environ.pop("HTTP_X_ORACLE_APP", ""))
    if app is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such oracle app"]
    return app(environ, start_response)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def main():
    server = make_server("127.0.0.1", 0, dispatcher, threaded=True, request_handler=QuietHandler)
    print(json.dumps({"port": server.server_port}), flush=True)
    # Ends when the test process closes our stdin (or dies).
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
