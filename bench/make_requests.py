#!/usr/bin/env python3
"""Writes pre-built, signed HTTP/1.1 requests for wrk to walk (bench/wrk/walk.lua).

Each request is a Stripe event of about 1.2 KB with a unique event id and a current timestamp,
signed as Stripe does: header `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
keyed with the whole `whsec_...` secret. Records are separated by a NUL byte (JSON has none).

  --duplicates R   a fraction R of the requests resend an earlier event (same body, new signature),
                   as Stripe's retries do
  --bad R          a fraction R carry a signature made with the wrong secret
  --get PATH       plain GET requests with an admin token instead (for the admin API figures)
  --emit N         outbound emits instead: `POST /admin/outbound/out-NNN/events` with an admin token,
                   round-robin over destinations out-001 … out-N, each with a unique idempotency key
                   and the same 1.2 KB invoice event as its payload (the outbound benchmark)
"""
import argparse
import hashlib
import hmac
import json
import os
import random
import time

PAD = "x" * 16


def scattered_id(n, salt):
    """A random-looking id (a UUID from a hash of `n` and `salt`, so a retry repeats it), as GitHub's
    and Shopify's delivery ids are. Stripe's and Svix's ids begin with a time-ordered part, which the
    default counting ids model: those land at the end of an index, random ones anywhere in it."""
    digest = hashlib.sha256(("%s/%d" % (salt, n)).encode()).hexdigest()
    return "evt_%s-%s-4%s-a%s-%s" % (digest[:8], digest[8:12], digest[13:16], digest[17:20], digest[20:32])


def stripe_event(n, salt, scattered=False):
    """A Stripe-shaped `invoice.paid` event of about 1.2 KB; `n` and `salt` make its id unique.
    Ids count up unless `scattered`."""
    event_id = scattered_id(n, salt) if scattered else "evt_%s%010d" % (salt, n)
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "type": "invoice.paid",
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_%s%08d" % (salt, n), "idempotency_key": "ik_%s_%d" % (salt, n)},
        "data": {"object": {
            "id": "in_%s%010d" % (salt, n), "object": "invoice", "amount_due": 4200, "amount_paid": 4200,
            "amount_remaining": 0, "billing_reason": "subscription_cycle", "collection_method": "charge_automatically",
            "currency": "usd", "customer": "cus_%s%06d" % (salt, n % 100000), "customer_email": "user%d@example.com" % n,
            "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1Bench/test_" + PAD,
            "invoice_pdf": "https://pay.stripe.com/invoice/acct_1Bench/test_" + PAD + "/pdf",
            "lines": {"object": "list", "data": [{"id": "il_%s%08d" % (salt, n), "amount": 4200, "currency": "usd",
                                                 "description": "1 x Pro plan (at $42.00 / month)",
                                                 "period": {"start": 1719792000, "end": 1722470400},
                                                 "price": {"id": "price_1BenchPro", "unit_amount": 4200, "recurring": {"interval": "month"}}}],
                      "has_more": False, "total_count": 1, "url": "/v1/invoices/in_%s%010d/lines" % (salt, n)},
            "metadata": {"order": "ord_%d" % n, "region": "eu-west"},
            "paid": True, "status": "paid", "subscription": "sub_%s%08d" % (salt, n),
            "subtotal": 4200, "tax": 0, "total": 4200,
        }},
    }
    return json.dumps(event, separators=(",", ":")).encode()


def signed_post(path, body, secret, timestamp):
    payload = str(timestamp).encode() + b"." + body
    signature = hmac.new(secret, payload, hashlib.sha256).hexdigest()
    head = ("POST %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n"
            "Content-Type: application/json; charset=utf-8\r\nAccept: */*; q=0.5, application/xml\r\n"
            "Cache-Control: no-cache\r\nStripe-Signature: t=%d,v1=%s\r\nContent-Length: %d\r\n\r\n"
            % (path, timestamp, signature, len(body)))
    return head.encode() + body


def emit_post(destination, n, salt, token):
    """An admin emit of the invoice event `n` to `destination`; the idempotency key is unique per (salt, n)."""
    body = b'{"type":"invoice.paid","idempotency_key":"ik_%s_%d","payload":%s}' % (salt.encode(), n, stripe_event(n, salt))
    head = ("POST /admin/outbound/%s/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (destination, token, len(body)))
    return head.encode() + body


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--path", default="/webhooks/stripe")
    p.add_argument("--secret", default="")
    p.add_argument("--salt", default="", help="makes event ids unique across files")
    p.add_argument("--scattered-ids", action="store_true",
                   help="random ids (as GitHub's and Shopify's UUIDs) instead of counting ones")
    p.add_argument("--duplicates", type=float, default=0.0)
    p.add_argument("--bad", type=float, default=0.0)
    p.add_argument("--get", nargs="*", default=None, help="admin GET targets, cycled")
    p.add_argument("--token", default="")
    p.add_argument("--emit", type=int, default=0, help="outbound emits over this many destinations")
    args = p.parse_args()
    rng = random.Random(args.salt)
    with open(args.out, "wb") as out:
        if args.emit:
            salt = args.salt or os.urandom(4).hex()
            for i in range(args.count):
                out.write(emit_post("out-%03d" % (i % args.emit + 1), i, salt, args.token))
                out.write(b"\0")
            return
        if args.get is not None:
            for i in range(args.count):
                target = args.get[i % len(args.get)]
                out.write(("GET %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n" % (target, args.token)).encode())
                out.write(b"\0")
            return
        secret = args.secret.encode()
        wrong = b"whsec_not_the_right_secret"
        now = int(time.time())
        salt = args.salt or os.urandom(4).hex()
        fresh = 0
        for i in range(args.count):
            roll = rng.random()
            if fresh > 100 and roll < args.duplicates:
                # A retry of a recent event: Stripe resends the same body with a new signature.
                body = stripe_event(fresh - 1 - rng.randrange(100), salt, args.scattered_ids)
            else:
                body = stripe_event(fresh, salt, args.scattered_ids)
                fresh += 1
            key = wrong if args.duplicates <= roll < args.duplicates + args.bad else secret
            out.write(signed_post(args.path, body, key, now))
            out.write(b"\0")


if __name__ == "__main__":
    main()
