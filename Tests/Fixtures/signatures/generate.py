#!/usr/bin/env python3
"""Writes the signature test vectors in this folder, one JSON file per provider.

Each provider's requests are built from its documented rule, then every case is run through the
provider's OFFICIAL SDK (or the reference library its docs name) where one exists on PyPI, and the
generator stops if the SDK disagrees with the expected outcome. Each case records which library
confirmed it ("confirmed_by"); where no SDK exists, or the SDK cannot take the case (a str-only API
and a binary body), it says so. Timestamp cases record what the SDK said when it is more lenient
than Layeron (several SDKs only check the past), in "sdk_result".

Set up once (CI never runs this; tests read the committed JSON):
    python3 -m venv /tmp/sigvenv
    /tmp/sigvenv/bin/pip install stripe standardwebhooks svix slack_sdk twilio pynacl cryptography \
        sendgrid squareup paddle-python-sdk razorpay hubspot-api-client coinbase-commerce
    /tmp/sigvenv/bin/python Tests/Fixtures/signatures/generate.py
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import sys
import urllib.parse
from importlib import metadata
from unittest import mock

NOW = 1_700_000_000
MSG_ID = "msg_2ZxYvWu1"
HERE = os.path.dirname(os.path.abspath(__file__))
DOCS_ONLY = "none: no official SDK on PyPI; built with Python's hmac from the provider's documented rule"


def version(dist):
    return f"{dist} {metadata.version(dist)}"


def enc(kind, raw):
    if kind == "hex":
        return raw.hex()
    if kind == "base64":
        return base64.b64encode(raw).decode()
    if kind == "base64url":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return raw.decode()


def mac(algo, key, msg):
    return hmac.new(key, msg, getattr(hashlib, algo)).digest()


def rfc3339(ts):
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")


class Provider:
    """A provider's documented rule, in the same terms as the Swift preset."""

    def __init__(self, name, header, algo="sha256", encoding="hex", prefix="", payload=lambda r: r["body"],
                 timestamp=None, unit="s", tolerance=300, fields=None, id_header=None, secret="s3cr3t-value",
                 key=lambda s: s.encode(), sdk=None, url="https://hooks.example.com/webhooks/test?x=1",
                 token=False, multi=False):
        self.name, self.header, self.algo, self.encoding, self.prefix = name, header, algo, encoding, prefix
        self.payload, self.timestamp, self.unit, self.tolerance, self.fields = payload, timestamp, unit, tolerance, fields
        self.id_header, self.secret, self.key, self.sdk, self.url = id_header, secret, key, sdk, url
        self.token, self.multi = token, multi
        self.wrong_secret = secret[:-4] + "XXXX" if not secret.startswith("whsec_") else "whsec_" + base64.b64encode(b"another-key-entirely-32-bytes!!").decode()

    def ts_text(self, ts):
        return {"s": str(ts), "ms": str(ts * 1000), "rfc3339": rfc3339(ts)}[self.unit]

    def signature(self, secret, r):
        if self.token:
            return secret.encode()
        return mac(self.algo, self.key(secret), self.payload(r))

    def build(self, body, secret, ts=NOW, extra_secrets=()):
        r = {"method": "POST", "url": self.url, "headers": {}, "body": body, "ts": self.ts_text(ts), "id": MSG_ID}
        sigs = [enc(self.encoding, self.signature(s, r)) for s in (*extra_secrets, secret)]
        if self.fields:
            value = self.fields(r["ts"], sigs)
        else:
            value = self.prefix + sigs[-1]
        r["headers"][self.header] = value
        if self.timestamp and self.timestamp != "format":
            r["headers"][self.timestamp] = r["ts"]
        if self.id_header:
            r["headers"][self.id_header] = MSG_ID
        return r

    def signature_of(self, r):
        return r["headers"].get(self.header)

    def set_signature(self, r, value):
        if value is None:
            r["headers"].pop(self.header, None)
        else:
            r["headers"][self.header] = value

    def garbage_code(self):
        return "mismatch" if self.encoding == "text" else "malformed_header"


def stripe_fields(ts, sigs):
    return ",".join([f"t={ts}"] + [f"v1={s}" for s in sigs])


# --- official SDK confirmations: each returns True/False, or None when the SDK cannot take the case ---

def sdk_stripe(r, secret, now):
    import stripe
    try:
        body = r["body"].decode("utf-8")
    except UnicodeDecodeError:
        return None
    with mock.patch("time.time", return_value=now):
        try:
            stripe.WebhookSignature.verify_header(body, r["headers"].get("Stripe-Signature"), secret, tolerance=300)
            return True
        except (stripe.SignatureVerificationError, AttributeError, ValueError):
            return False


def sdk_standard(module, prefix):
    def verify(r, secret, now):
        mod = __import__(module)
        webhook_class = mod.Webhook if module == "svix" else mod.webhooks.Webhook
        fake_now = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc)

        class FakeDatetime(datetime.datetime):
            @classmethod
            def now(cls, tz=None):
                return fake_now
        target = "standardwebhooks.webhooks.datetime"
        try:
            with mock.patch(target, FakeDatetime):
                if module == "svix":
                    webhook_class(secret).verify(r["body"], dict(r["headers"]))
                else:
                    webhook_class(secret).verify(r["body"], dict(r["headers"]), json_parse=False)
            return True
        except Exception:
            return False
    return verify


def sdk_slack(r, secret, now):
    from slack_sdk.signature import SignatureVerifier, Clock

    class Fixed(Clock):
        def now(self):
            return float(now)
    try:
        r["body"].decode("utf-8")
    except UnicodeDecodeError:
        return None
    h = r["headers"]
    if "X-Slack-Signature" not in h or "X-Slack-Request-Timestamp" not in h:
        return False
    try:
        return SignatureVerifier(secret, clock=Fixed()).is_valid(r["body"], h["X-Slack-Request-Timestamp"], h["X-Slack-Signature"])
    except ValueError:
        return False


def sdk_twilio(r, secret, now):
    from twilio.request_validator import RequestValidator
    sig = r["headers"].get("X-Twilio-Signature")
    if sig is None:
        return False
    if "bodySHA256=" in r["url"]:
        try:
            params = r["body"].decode("utf-8")
        except UnicodeDecodeError:
            return None
    else:
        params = {}
        for k, v in urllib.parse.parse_qsl(r["body"].decode(), keep_blank_values=True):
            params.setdefault(k, v)
    return RequestValidator(secret).validate(r["url"], params, sig)


def sdk_discord(r, public_hex, now):
    from nacl.signing import VerifyKey
    from nacl.exceptions import BadSignatureError
    h = r["headers"]
    try:
        VerifyKey(bytes.fromhex(public_hex)).verify(h["X-Signature-Timestamp"].encode() + r["body"], bytes.fromhex(h["X-Signature-Ed25519"]))
    except (BadSignatureError, KeyError, ValueError):
        return False
    return abs(int(h["X-Signature-Timestamp"]) - now) <= 300


def sdk_sendgrid(r, public_b64, now):
    from sendgrid.helpers.eventwebhook import EventWebhook
    h = r["headers"]
    try:
        body = r["body"].decode("utf-8")
    except UnicodeDecodeError:
        return None
    sig = h.get("X-Twilio-Email-Event-Webhook-Signature")
    if sig is None:
        return False
    try:
        ok = EventWebhook(public_b64).verify_signature(body, sig, h["X-Twilio-Email-Event-Webhook-Timestamp"])
    except Exception:
        return False
    return ok and abs(int(h["X-Twilio-Email-Event-Webhook-Timestamp"]) - now) <= 300


def sdk_square(r, secret, now):
    from square.utils.webhooks_helper import verify_signature
    try:
        body = r["body"].decode("utf-8")
    except UnicodeDecodeError:
        return None
    sig = r["headers"].get("X-Square-HmacSha256-Signature")
    if sig is None:
        return False
    return verify_signature(request_body=body, signature_header=sig, signature_key=secret, notification_url=SQUARE_URL)


def sdk_paddle(r, secret, now):
    from paddle_billing.Notifications.PaddleSignature import PaddleSignature
    from paddle_billing.Notifications.Secret import Secret
    header = r["headers"].get("Paddle-Signature")
    try:
        body = r["body"].decode("utf-8")
        ts, _ = PaddleSignature.parse(header)
    except UnicodeDecodeError:
        return None
    except Exception:
        return False
    return PaddleSignature().verify(header, body, Secret(secret)) and abs(ts - now) <= 300


def body_and_header_sdk(header, verify, error):
    """An SDK that takes the body as text and one header value, and raises `error()` on a mismatch."""
    def run(r, secret, now):
        try:
            body = r["body"].decode("utf-8")
        except UnicodeDecodeError:
            return None
        sig = r["headers"].get(header)
        if sig is None:
            return False
        try:
            return verify()(body, sig, secret)
        except error():
            return False
    return run


def razorpay_verify():
    import razorpay
    return razorpay.Utility(None).verify_webhook_signature


def razorpay_error():
    import razorpay
    return razorpay.errors.SignatureVerificationError


def coinbase_verify():
    from coinbase_commerce.webhook import WebhookSignature
    return WebhookSignature.verify_sig_header


def coinbase_error():
    from coinbase_commerce.error import SignatureVerificationError
    return SignatureVerificationError


sdk_razorpay = body_and_header_sdk("X-Razorpay-Signature", razorpay_verify, razorpay_error)
sdk_coinbase = body_and_header_sdk("X-CC-Webhook-Signature", coinbase_verify, coinbase_error)


def sdk_hubspot(r, secret, now):
    from hubspot.utils.signature import Signature
    from hubspot.exceptions import InvalidSignatureTimestampError
    try:
        body = r["body"].decode("utf-8")
    except UnicodeDecodeError:
        return None
    h = r["headers"]
    if "X-HubSpot-Signature-v3" not in h:
        return False
    fake_now = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc)

    class FakeDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return fake_now
    try:
        with mock.patch("hubspot.utils.signature.datetime", FakeDatetime):
            return Signature.is_valid(h["X-HubSpot-Signature-v3"], secret, body, http_uri=r["url"], http_method="POST",
                                      signature_version="v3", timestamp=h.get("X-HubSpot-Request-Timestamp"))
    except InvalidSignatureTimestampError:
        return False


SQUARE_URL = "https://hooks.example.com/webhooks/square"
WHSEC = "whsec_" + base64.b64encode(b"standard-webhooks-test-key-32-b!").decode()


def whsec_key(secret):
    return base64.b64decode(secret[6:] if secret.startswith("whsec_") else secret)


def standard(name, prefix, module):
    return Provider(name, f"{prefix}-signature", encoding="base64", secret=WHSEC, key=whsec_key,
                    payload=lambda r: f"{r['id']}.{r['ts']}.".encode() + r["body"],
                    timestamp=f"{prefix}-timestamp", id_header=f"{prefix}-id",
                    fields=lambda ts, sigs: " ".join(f"v1,{s}" for s in sigs), multi=True,
                    sdk=(version(module), sdk_standard(module, prefix)) if module else None)


PROVIDERS = [
    Provider("stripe", "Stripe-Signature", secret="whsec_stripe_test_secret_value", timestamp="format",
             payload=lambda r: f"{r['ts']}.".encode() + r["body"], fields=stripe_fields, multi=True,
             sdk=(version("stripe"), sdk_stripe)),
    Provider("paddle", "Paddle-Signature", secret="pdl_ntfset_test_secret_value", timestamp="format",
             payload=lambda r: f"{r['ts']}:".encode() + r["body"], multi=True,
             fields=lambda ts, sigs: ";".join([f"ts={ts}"] + [f"h1={s}" for s in sigs]),
             sdk=(version("paddle-python-sdk"), sdk_paddle)),
    Provider("square", "X-Square-HmacSha256-Signature", encoding="base64", url=SQUARE_URL,
             payload=lambda r: r["url"].encode() + r["body"], sdk=(version("squareup"), sdk_square)),
    Provider("shopify", "X-Shopify-Hmac-Sha256", encoding="base64"),
    Provider("razorpay", "X-Razorpay-Signature", sdk=(version("razorpay"), sdk_razorpay)),
    Provider("coinbase-commerce", "X-CC-Webhook-Signature", sdk=(version("coinbase-commerce"), sdk_coinbase)),
    Provider("lemon-squeezy", "X-Signature"),
    Provider("woocommerce", "X-WC-Webhook-Signature", encoding="base64"),
    Provider("github", "X-Hub-Signature-256", prefix="sha256="),
    Provider("gitlab", "X-Gitlab-Token", encoding="text", token=True),
    Provider("bitbucket", "X-Hub-Signature", prefix="sha256="),
    Provider("sentry", "Sentry-Hook-Signature"),
    Provider("vercel", "x-vercel-signature", algo="sha1"),
    Provider("pagerduty", "X-PagerDuty-Signature", multi=True, fields=lambda ts, sigs: ",".join(f"v1={s}" for s in sigs)),
    Provider("segment", "X-Signature", algo="sha1"),
    Provider("slack", "X-Slack-Signature", prefix="v0=", timestamp="X-Slack-Request-Timestamp",
             payload=lambda r: f"v0:{r['ts']}:".encode() + r["body"], sdk=(version("slack_sdk"), sdk_slack)),
    Provider("zoom", "x-zm-signature", prefix="v0=", timestamp="x-zm-request-timestamp",
             payload=lambda r: f"v0:{r['ts']}:".encode() + r["body"]),
    Provider("intercom", "X-Hub-Signature", algo="sha1", prefix="sha1="),
    Provider("twitch", "Twitch-Eventsub-Message-Signature", prefix="sha256=", unit="rfc3339", tolerance=600,
             timestamp="Twitch-Eventsub-Message-Timestamp", id_header="Twitch-Eventsub-Message-Id",
             payload=lambda r: r["id"].encode() + r["ts"].encode() + r["body"]),
    standard("standard-webhooks", "webhook", "standardwebhooks"),
    standard("svix", "svix", "svix"),
    standard("clerk", "svix", "svix"),
    standard("resend", "svix", "svix"),
    standard("replicate", "webhook", "standardwebhooks"),
    Provider("hubspot", "X-HubSpot-Signature-v3", encoding="base64", timestamp="X-HubSpot-Request-Timestamp", unit="ms",
             payload=lambda r: f"POST{r['url']}".encode() + r["body"] + r["ts"].encode(),
             sdk=(version("hubspot-api-client"), sdk_hubspot)),
    Provider("typeform", "Typeform-Signature", encoding="base64", prefix="sha256="),
    Provider("calendly", "Calendly-Webhook-Signature", timestamp="format", tolerance=180, multi=True,
             payload=lambda r: f"{r['ts']}.".encode() + r["body"], fields=stripe_fields),
    Provider("dropbox", "X-Dropbox-Signature"),
    Provider("zendesk", "X-Zendesk-Webhook-Signature", encoding="base64", unit="rfc3339",
             timestamp="X-Zendesk-Webhook-Signature-Timestamp", payload=lambda r: r["ts"].encode() + r["body"]),
    Provider("xero", "x-xero-signature", encoding="base64"),
    Provider("webflow", "x-webflow-signature", timestamp="x-webflow-timestamp", unit="ms",
             payload=lambda r: f"{r['ts']}:".encode() + r["body"]),
    Provider("mux", "Mux-Signature", timestamp="format", multi=True,
             payload=lambda r: f"{r['ts']}.".encode() + r["body"], fields=stripe_fields),
    Provider("cal-com", "X-Cal-Signature-256"),
    Provider("trello", "X-Trello-Webhook", algo="sha1", encoding="base64", url="https://hooks.example.com/webhooks/trello",
             payload=lambda r: r["body"] + r["url"].encode()),
]

JSON_BODY = b'{"id":"evt_1","type":"test.event","event_id":"e_1","data":{"amount":1200}}'
NON_ASCII = '{"id":"evt_2","type":"test.event","text":"h\u00e9llo \u2713 \u65e5\u672c \U0001f600"}'.encode()
BINARY = bytes(range(256)) * 4
BODY_1200 = b'{"id":"evt_4","type":"bench.event","pad":"' + b"y" * (1200 - 46) + b'"}'
LARGE = b'{"id":"evt_3","type":"test.large","pad":"' + b"x" * (256 * 1024 - 45) + b'"}'


SHARED_BODIES = {}


def serialize(r):
    """Bodies over 4 KiB are kept once in bodies.json by SHA-256, so the 256 KiB cases stay small."""
    out = {"method": r["method"], "url": r["url"], "headers": r["headers"]}
    if len(r["body"]) > 4096:
        digest = hashlib.sha256(r["body"]).hexdigest()
        SHARED_BODIES[digest] = r["body"].decode("utf-8")
        out["body_sha256"] = digest
    else:
        out["body_base64"] = base64.b64encode(r["body"]).decode()
    return out


class Collector:
    def __init__(self, name, sdk):
        self.name, self.sdk, self.cases = name, sdk, []

    def add(self, case, request, secrets, expect, now=NOW):
        entry = {"name": case, "now": now, "secrets": secrets, "expect": expect, "request": serialize(request)}
        entry["confirmed_by"] = DOCS_ONLY
        if self.sdk:
            lib, verify = self.sdk
            results = [verify(request, s, now) for s in secrets]
            if all(r is not None for r in results):
                accepted = any(results)
                if accepted == (expect == "valid"):
                    entry["confirmed_by"] = lib
                elif case.endswith("timestamp") and accepted:
                    entry["sdk_result"] = f"{lib} accepts this: it does not check this direction of the timestamp"
                else:
                    sys.exit(f"{self.name}/{case}: {lib} says {'valid' if accepted else 'invalid'}, expected {expect}")
            else:
                entry["confirmed_by"] = f"{DOCS_ONLY} ({lib} takes text bodies only)"
        self.cases.append(entry)


def hmac_cases(p):
    c = Collector(p.name, p.sdk)
    s = p.secret
    c.add("valid", p.build(JSON_BODY, s), [s], "valid")
    c.add("valid_1200_bytes", p.build(BODY_1200, s), [s], "valid")
    tampered = p.build(JSON_BODY, s)
    tampered["body"] = JSON_BODY.replace(b"1200", b"9999")
    c.add("tampered_body", tampered, [s], "valid" if p.token else "mismatch")
    c.add("wrong_secret", p.build(JSON_BODY, p.wrong_secret), [s], "mismatch")
    c.add("rotation_second_secret_verifies", p.build(JSON_BODY, s), [p.wrong_secret, s], "valid")
    if p.multi:
        c.add("rotation_one_good_signature_of_two", p.build(JSON_BODY, s, extra_secrets=[p.wrong_secret]), [s], "valid")
    if p.timestamp:
        c.add("stale_timestamp", p.build(JSON_BODY, s, ts=NOW - p.tolerance - 112), [s], "timestamp")
        c.add("future_timestamp", p.build(JSON_BODY, s, ts=NOW + p.tolerance + 1), [s], "timestamp")
        bad = p.build(JSON_BODY, s)
        if p.timestamp == "format":
            p.set_signature(bad, p.signature_of(bad).replace(str(NOW), "yesterday", 1))
        else:
            bad["headers"][p.timestamp] = "yesterday"
        c.add("malformed_timestamp", bad, [s], "malformed_timestamp")
    missing = p.build(JSON_BODY, s)
    p.set_signature(missing, None)
    c.add("missing_header", missing, [s], "missing_header")
    for case, value in [("garbage_header", "!!! not a signature %%%"), ("empty_header", "")]:
        r = p.build(JSON_BODY, s)
        p.set_signature(r, value)
        c.add(case, r, [s], "malformed_header" if case == "empty_header" else p.garbage_code())
    c.add("non_ascii_body", p.build(NON_ASCII, s), [s], "valid")
    c.add("binary_body", p.build(BINARY, s), [s], "valid")
    c.add("body_256_kib", p.build(LARGE, s), [s], "valid")
    add_documented_example(c, p)
    return c


# Examples a provider publishes in its own documentation (secret, body and the exact header it
# shows). Each becomes a "documented_example" case; the generator stops if the documented
# rule does not reproduce the published value, so the vector ties the preset to the provider.
DOCUMENTED_EXAMPLES = {
    "github": {"secret": "It's a Secret to Everybody", "body": b"Hello, World!",
               "headers": {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
               "source": "https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation"},
}


def add_documented_example(c, p):
    example = DOCUMENTED_EXAMPLES.get(p.name)
    if example is None:
        return
    r = p.build(example["body"], example["secret"])
    if r["headers"] != example["headers"]:
        sys.exit(f"{p.name}: the documented example does not follow the documented rule: {r['headers']} != {example['headers']}")
    c.add("documented_example", r, [example["secret"]], "valid")
    c.cases[-1]["confirmed_by"] = f"{p.name} documentation example: {example['source']}"


def twilio_cases():
    token = "twilio_auth_token_0123456789abcd"
    wrong = token[:-4] + "XXXX"
    base = "https://hooks.example.com/webhooks/twilio"
    from twilio.request_validator import RequestValidator

    def form(params, secret, url=base + "?Account=1"):
        body = urllib.parse.urlencode(params).encode()
        sig = RequestValidator(secret).compute_signature(url, dict(params))
        return {"method": "POST", "url": url, "headers": {"X-Twilio-Signature": sig,
                "Content-Type": "application/x-www-form-urlencoded"}, "body": body}

    def json_mode(body, secret):
        url = f"{base}?bodySHA256={hashlib.sha256(body).hexdigest()}"
        sig = base64.b64encode(mac("sha1", secret.encode(), url.encode())).decode()
        return {"method": "POST", "url": url, "headers": {"X-Twilio-Signature": sig,
                "Content-Type": "application/json"}, "body": body}

    params = [("To", "+15005550006"), ("From", "+15551234567"), ("Body", "Hello world & more"), ("MessageSid", "SM123")]
    c = Collector("twilio", (version("twilio"), sdk_twilio))
    c.add("valid", form(params, token), [token], "valid")
    c.add("valid_1200_bytes", form(params + [("Pad", "y" * 1080)], token), [token], "valid")
    t = form(params, token)
    t["body"] = t["body"].replace(b"Hello", b"Howdy")
    c.add("tampered_body", t, [token], "mismatch")
    c.add("wrong_secret", form(params, wrong), [token], "mismatch")
    c.add("rotation_second_secret_verifies", form(params, token), [wrong, token], "valid")
    m = form(params, token)
    del m["headers"]["X-Twilio-Signature"]
    c.add("missing_header", m, [token], "missing_header")
    for case, value in [("garbage_header", "!!! not a signature %%%"), ("empty_header", "")]:
        g = form(params, token)
        g["headers"]["X-Twilio-Signature"] = value
        c.add(case, g, [token], "malformed_header")
    c.add("non_ascii_body", form([("Body", "h\u00e9llo \u2713 \u65e5\u672c"), ("From", "+1555")], token), [token], "valid")
    c.add("url_with_default_port", form(params, token, url="https://hooks.example.com:443/webhooks/twilio"), [token], "valid")
    c.add("json_body_sha256", json_mode(NON_ASCII, token), [token], "valid")
    jt = json_mode(JSON_BODY, token)
    jt["body"] = JSON_BODY.replace(b"1200", b"9999")
    c.add("json_body_sha256_tampered", jt, [token], "body_digest")
    c.add("binary_body", json_mode(BINARY, token), [token], "valid")
    c.add("body_256_kib", json_mode(LARGE, token), [token], "valid")
    return c


def mailgun_cases():
    key = "mailgun-http-webhook-signing-key"
    wrong = key[:-4] + "XXXX"

    def build(secret, ts=NOW, text="delivered", token="a8ce0edb2dd8301dce9f2b4b9f1e8c5d2aaa"):
        sig = mac("sha256", secret.encode(), f"{ts}{token}".encode()).hex()
        body = json.dumps({"signature": {"timestamp": str(ts), "token": token, "signature": sig},
                           "event-data": {"id": "ev_1", "event": text}}, ensure_ascii=False).encode()
        return {"method": "POST", "url": "https://hooks.example.com/webhooks/mailgun",
                "headers": {"Content-Type": "application/json"}, "body": body}

    def with_signature(value):
        r = build(key)
        doc = json.loads(r["body"])
        if value is None:
            del doc["signature"]["signature"]
        else:
            doc["signature"]["signature"] = value
        r["body"] = json.dumps(doc).encode()
        return r

    c = Collector("mailgun", None)
    c.add("valid", build(key), [key], "valid")
    c.add("valid_1200_bytes", build(key, text="y" * 1060), [key], "valid")
    t = build(key)
    t["body"] = t["body"].replace(b"a8ce0e", b"b8ce0e")
    c.add("tampered_body", t, [key], "mismatch")
    c.add("wrong_secret", build(wrong), [key], "mismatch")
    c.add("rotation_second_secret_verifies", build(key), [wrong, key], "valid")
    c.add("stale_timestamp", build(key, ts=NOW - 412), [key], "timestamp")
    c.add("future_timestamp", build(key, ts=NOW + 301), [key], "timestamp")
    c.add("missing_header", with_signature(None), [key], "missing_header")
    c.add("garbage_header", with_signature("!!! not a signature"), [key], "malformed_header")
    c.add("non_ascii_body", build(key, text="d\u00e9livr\u00e9 \u2713 \u65e5\u672c"), [key], "valid")
    c.add("body_256_kib", build(key, text="x" * (256 * 1024)), [key], "valid")
    return c


def linear_cases():
    secret = "lin_wh_test_signing_secret_value"
    wrong = secret[:-4] + "XXXX"

    def build(key, ts=NOW, text="Issue", pad=""):
        body = json.dumps({"action": "create", "type": text, "data": {"id": "iss_1", "pad": pad},
                           "webhookTimestamp": ts * 1000}, ensure_ascii=False).encode()
        return {"method": "POST", "url": "https://hooks.example.com/webhooks/linear",
                "headers": {"Linear-Signature": mac("sha256", key.encode(), body).hex(), "Linear-Delivery": MSG_ID,
                            "Linear-Event": text}, "body": body}

    c = Collector("linear", None)
    c.add("valid", build(secret), [secret], "valid")
    c.add("valid_1200_bytes", build(secret, pad="y" * 1080), [secret], "valid")
    t = build(secret)
    t["body"] = t["body"].replace(b"create", b"remove")
    c.add("tampered_body", t, [secret], "mismatch")
    c.add("wrong_secret", build(wrong), [secret], "mismatch")
    c.add("rotation_second_secret_verifies", build(secret), [wrong, secret], "valid")
    c.add("stale_timestamp", build(secret, ts=NOW - 61), [secret], "timestamp")
    c.add("future_timestamp", build(secret, ts=NOW + 61), [secret], "timestamp")
    m = build(secret)
    del m["headers"]["Linear-Signature"]
    c.add("missing_header", m, [secret], "missing_header")
    g = build(secret)
    g["headers"]["Linear-Signature"] = "!!! not a signature"
    c.add("garbage_header", g, [secret], "malformed_header")
    c.add("non_ascii_body", build(secret, text="Probl\u00e8me \u2713 \u65e5\u672c"), [secret], "valid")
    c.add("body_256_kib", build(secret, pad="x" * (256 * 1024)), [secret], "valid")
    return c


def postmark_cases():
    creds = "hook-user:hook-password-123"
    wrong = "hook-user:wrong-password-456"

    def build(secret, body=JSON_BODY):
        return {"method": "POST", "url": "https://hooks.example.com/webhooks/postmark",
                "headers": {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}, "body": body}

    c = Collector("postmark", None)
    c.add("valid", build(creds), [creds], "valid")
    c.add("valid_1200_bytes", build(creds, BODY_1200), [creds], "valid")
    c.add("tampered_body", build(creds, JSON_BODY.replace(b"1200", b"9999")), [creds], "valid")
    c.add("wrong_secret", build(wrong), [creds], "mismatch")
    c.add("rotation_second_secret_verifies", build(creds), [wrong, creds], "valid")
    m = build(creds)
    del m["headers"]["Authorization"]
    c.add("missing_header", m, [creds], "missing_header")
    g = build(creds)
    g["headers"]["Authorization"] = "Bearer something"
    c.add("garbage_header", g, [creds], "malformed_header")
    c.add("non_ascii_body", build(creds, NON_ASCII), [creds], "valid")
    c.add("binary_body", build(creds, BINARY), [creds], "valid")
    c.add("body_256_kib", build(creds, LARGE), [creds], "valid")
    return c


def asymmetric_cases(name, header, ts_header, sign, public, wrong_public, encoding, sdk):
    def build(body, signer=sign, ts=NOW):
        sig = signer(str(ts).encode() + body)
        return {"method": "POST", "url": f"https://hooks.example.com/webhooks/{name}",
                "headers": {header: enc(encoding, sig), ts_header: str(ts)}, "body": body}

    c = Collector(name, sdk)
    c.add("valid", build(JSON_BODY), [public], "valid")
    c.add("valid_1200_bytes", build(BODY_1200), [public], "valid")
    t = build(JSON_BODY)
    t["body"] = JSON_BODY.replace(b"1200", b"9999")
    c.add("tampered_body", t, [public], "mismatch")
    c.add("wrong_secret", build(JSON_BODY), [wrong_public], "mismatch")
    c.add("rotation_second_secret_verifies", build(JSON_BODY), [wrong_public, public], "valid")
    c.add("stale_timestamp", build(JSON_BODY, ts=NOW - 412), [public], "timestamp")
    c.add("future_timestamp", build(JSON_BODY, ts=NOW + 301), [public], "timestamp")
    m = build(JSON_BODY)
    del m["headers"][header]
    c.add("missing_header", m, [public], "missing_header")
    for case, value in [("garbage_header", "!!! not a signature %%%"), ("empty_header", "")]:
        g = build(JSON_BODY)
        g["headers"][header] = value
        c.add(case, g, [public], "malformed_header")
    c.add("non_ascii_body", build(NON_ASCII), [public], "valid")
    c.add("binary_body", build(BINARY), [public], "valid")
    c.add("body_256_kib", build(LARGE), [public], "valid")
    return c


def discord_cases():
    from nacl.signing import SigningKey
    key = SigningKey(bytes(range(32)))
    other = SigningKey(bytes(range(1, 33)))
    return asymmetric_cases("discord", "X-Signature-Ed25519", "X-Signature-Timestamp",
                            lambda m: key.sign(m).signature, key.verify_key.encode().hex(),
                            other.verify_key.encode().hex(), "hex", (version("PyNaCl"), sdk_discord))


def sendgrid_cases():
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.derive_private_key(0x1234567890ABCDEF1234567890ABCDEF, ec.SECP256R1())
    other = ec.derive_private_key(0xFEDCBA0987654321FEDCBA0987654321, ec.SECP256R1())

    def spki(k):
        der = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()
    # ECDSA signatures are randomized; RFC 6979 deterministic nonces keep the committed file stable.
    sign = lambda m: key.sign(m, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return asymmetric_cases("sendgrid", "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp",
                            sign, spki(key), spki(other), "base64", (version("sendgrid"), sdk_sendgrid))


def zoom_challenge():
    """Zoom's url_validation answer, checked by the challenge test."""
    secret = "zoom-secret-token-value"
    plain = "qgg8vlvZRS6UYooatFL8Aw"
    return {"secret": secret, "plainToken": plain,
            "encryptedToken": hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()}


def custom_cases():
    """Custom schemes from config: each entry holds the `signature` object and cases for it."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, ed25519
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    ec_key = ec.derive_private_key(0xC0FFEE1234, ec.SECP256R1())
    ec_pem = ec_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    ed_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
    ed_b64 = base64.b64encode(ed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
    lib = version("cryptography")
    url = "https://hooks.example.com/webhooks/vendor?attempt=1"
    out = []

    def request(headers, body=JSON_BODY):
        return {"method": "POST", "url": url, "headers": headers, "body_base64": base64.b64encode(body).decode()}

    # RSA-SHA256 over "{timestamp}.{body}", base64url, timestamp in ms in its own header.
    ts_ms = str(NOW * 1000)
    sig = rsa_key.sign(f"{ts_ms}.".encode() + JSON_BODY, padding.PKCS1v15(), hashes.SHA256())
    sig_1200 = rsa_key.sign(f"{ts_ms}.".encode() + BODY_1200, padding.PKCS1v15(), hashes.SHA256())
    out.append({"name": "rsa-sha256-ms-timestamp",
                "signature": {"header": "x-vendor-signature", "algorithm": "rsa-sha256", "encoding": "base64url",
                              "publicKey": rsa_pem, "signedPayload": "{timestamp}.{body}",
                              "timestamp": {"from": "header.x-vendor-time", "unit": "milliseconds", "tolerance": "5m"}},
                "cases": [
                    {"name": "valid", "expect": "valid", "now": NOW, "confirmed_by": lib,
                     "request": request({"x-vendor-signature": enc("base64url", sig), "x-vendor-time": ts_ms})},
                    {"name": "valid_1200_bytes", "expect": "valid", "now": NOW, "confirmed_by": lib,
                     "request": request({"x-vendor-signature": enc("base64url", sig_1200), "x-vendor-time": ts_ms}, BODY_1200)},
                    {"name": "tampered_body", "expect": "mismatch", "now": NOW, "confirmed_by": lib,
                     "request": request({"x-vendor-signature": enc("base64url", sig), "x-vendor-time": ts_ms}, JSON_BODY + b" ")},
                    {"name": "stale_timestamp", "expect": "timestamp", "now": NOW + 301, "confirmed_by": lib,
                     "request": request({"x-vendor-signature": enc("base64url", sig), "x-vendor-time": ts_ms})},
                ]})
    # ECDSA P-256 raw r||s (JOSE form) and DER, PEM key, over "{method} {url}\n{body}".
    msg = f"POST {url}\n".encode() + JSON_BODY
    der = ec_key.sign(msg, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    r_, s_ = decode_dss_signature(der)
    raw = r_.to_bytes(32, "big") + s_.to_bytes(32, "big")
    out.append({"name": "ecdsa-p256-method-url",
                "signature": {"header": "x-sig", "algorithm": "ecdsa-p256-sha256", "encoding": "base64",
                              "publicKey": ec_pem, "signedPayload": "{method} {url}\n{body}"},
                "cases": [
                    {"name": "valid_der", "expect": "valid", "now": NOW, "confirmed_by": lib, "request": request({"x-sig": enc("base64", der)})},
                    {"name": "valid_raw_r_s", "expect": "valid", "now": NOW, "confirmed_by": lib, "request": request({"x-sig": enc("base64", raw)})},
                    {"name": "tampered_body", "expect": "mismatch", "now": NOW, "confirmed_by": lib,
                     "request": request({"x-sig": enc("base64", der)}, JSON_BODY + b"\n")},
                ]})
    # Ed25519 with a base64 raw key, several signatures in a "ts=…;sig=…" header, id from a header.
    good = ed_key.sign(f"{MSG_ID}:{NOW}:".encode() + JSON_BODY)
    bad = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)).sign(f"{MSG_ID}:{NOW}:".encode() + JSON_BODY)
    header = f"ts={NOW};sig={enc('hex', bad)};sig={enc('hex', good)}"
    out.append({"name": "ed25519-multi-signature",
                "signature": {"header": "x-signature", "algorithm": "ed25519", "encoding": "hex", "publicKey": ed_b64,
                              "format": "ts={timestamp};sig={signature}", "id": "header.x-message-id",
                              "signedPayload": "{id}:{timestamp}:{body}"},
                "cases": [
                    {"name": "one_good_signature_of_two", "expect": "valid", "now": NOW, "confirmed_by": lib,
                     "request": request({"x-signature": header, "x-message-id": MSG_ID})},
                    {"name": "missing_id", "expect": "missing_id", "now": NOW, "confirmed_by": lib,
                     "request": request({"x-signature": header})},
                ]})
    # HMAC-SHA512, base64, prefix, header placeholder, hex-encoded secret.
    key_hex = "00112233445566778899aabbccddeeff"
    tag = mac("sha512", bytes.fromhex(key_hex), b"acct_42|" + JSON_BODY)
    out.append({"name": "hmac-sha512-hex-secret-header-placeholder",
                "signature": {"header": "x-sig", "algorithm": "hmac-sha512", "encoding": "base64", "prefix": "sha512=",
                              "secretEncoding": "hex", "signedPayload": "{header:X-Account}|{body}", "secret": {"secret": "S"}},
                "secrets": [key_hex],
                "cases": [
                    {"name": "valid", "expect": "valid", "now": NOW, "confirmed_by": DOCS_ONLY.split(":")[0] + ": Python hmac",
                     "request": request({"x-sig": "sha512=" + enc("base64", tag), "x-account": "acct_42"})},
                    {"name": "other_account_header", "expect": "mismatch", "now": NOW, "confirmed_by": "Python hmac",
                     "request": request({"x-sig": "sha512=" + enc("base64", tag), "x-account": "acct_43"})},
                ]})
    return out


def main():
    files = {}
    for p in PROVIDERS:
        files[p.name] = hmac_cases(p)
    files["twilio"] = twilio_cases()
    files["mailgun"] = mailgun_cases()
    files["postmark"] = postmark_cases()
    files["linear"] = linear_cases()
    files["discord"] = discord_cases()
    files["sendgrid"] = sendgrid_cases()
    for name, c in sorted(files.items()):
        with open(os.path.join(HERE, f"{name}.json"), "w") as f:
            json.dump({"provider": name, "cases": c.cases}, f, indent=1, ensure_ascii=False)
            f.write("\n")
    with open(os.path.join(HERE, "bodies.json"), "w") as f:
        json.dump(SHARED_BODIES, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(HERE, "custom.json"), "w") as f:
        json.dump({"schemes": custom_cases(), "zoom_challenge": zoom_challenge()}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(files)} provider files and custom.json")


if __name__ == "__main__":
    main()
