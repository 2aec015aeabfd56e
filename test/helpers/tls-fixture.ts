/**
 * A self-signed certificate for `localhost` and `127.0.0.1` (ECDSA P-256, valid 2000–2100), for
 * `wss:` tests. Generated once with OpenSSL (`req -new` for the key, then `ca -selfsign
 * -startdate 20000101000000Z -enddate 21000101000000Z` with `subjectAltName =
 * DNS:localhost,IP:127.0.0.1` and `basicConstraints = critical,CA:TRUE`), so it is valid
 * whatever the test machine's clock says.
 *
 * Test-only key material: it protects nothing.
 *
 * @module
 */

/** The certificate (PEM); it is also its own trust anchor. */
export const TLS_CERT = `
-----BEGIN CERTIFICATE-----
MIIBZjCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJDB9DA0gbr+eqU7
uICMniQNMs4YBOJNJgbT9yf6Eb33LVhu30cSk3ZejtJK7tPqJjeRAbzDfLIu7C3Y
ReE61qGjTjBMMBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAAATAPBgNVHRMBAf8E
BTADAQH/MB0GA1UdDgQWBBT9kVAZDusppSPvqGCzWd+/ZEHj3jAKBggqhkjOPQQD
AgNHADBEAiAHlH6QHhKYZbW7yn1Dm3a0ztze1yJ7OYmOHeBF+w4Z/wIgX06Eo1tI
nutRQS0FszFXSKM+Nm3A+MLCxDhVuBVjFP4=
-----END CERTIFICATE-----
`.trimStart();

/** The private key (PEM). */
export const TLS_KEY = `
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXEHHMkMFH7J5wOYe
i/81sJfCnIKU459ynzY9HTdPTBKhRANCAASQwfQwNIG6/nqlO7iAjJ4kDTLOGATi
TSYG0/cn+hG99y1Ybt9HEpN2Xo7SSu7T6iY3kQG8w3yyLuwt2EXhOtah
-----END PRIVATE KEY-----
`.trimStart();
