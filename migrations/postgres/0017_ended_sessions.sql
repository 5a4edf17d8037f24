-- Sessions ended by a logout before their token expired: the token's SHA-256 (never the token),
-- kept until it would have expired anyway. A token found here opens no session, so a copied
-- session cookie or bearer token stops working once its owner logs out.
-- Never edit once landed: add a new migration instead.
CREATE TABLE ended_sessions (
    token_sha256 TEXT        PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX ended_sessions_expiry ON ended_sessions (expires_at);
