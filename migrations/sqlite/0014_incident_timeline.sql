-- Incidents to post-mortems (issue 27): notes and entries remembered after the fact, pins of any
-- timeline entry, links to jobs and runs, the team's verdict on suspected changes, and the
-- post-mortem's versions. The rest of the timeline is read from what uHub already records.
-- Never edit once landed: add a new migration instead.
CREATE TABLE incident_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    -- When it happened (a manual entry may be dated before it was written).
    at          TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('note', 'manual')),
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL DEFAULT '',
    created_by  INTEGER REFERENCES users (id),
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX incident_entries_at ON incident_entries (incident_id, at);

-- Pinned timeline entries, by reference (`run:12`, `entry:3`, `incident:5:audit:40`).
CREATE TABLE incident_pins (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    ref         TEXT    NOT NULL,
    pinned_by   INTEGER REFERENCES users (id),
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (incident_id, ref)
);

CREATE TABLE incident_links (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('job', 'run', 'action_item')),
    target_id   INTEGER NOT NULL,
    created_by  INTEGER REFERENCES users (id),
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (incident_id, kind, target_id)
);

-- The team's word on a suspected change: the cause, or not.
CREATE TABLE incident_verdicts (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    ref         TEXT    NOT NULL,
    verdict     TEXT    NOT NULL CHECK (verdict IN ('cause', 'not_cause')),
    decided_by  INTEGER REFERENCES users (id),
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (incident_id, ref)
);

-- Every saved version of the post-mortem (Markdown); the newest is the document.
CREATE TABLE incident_postmortems (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    created_by  INTEGER REFERENCES users (id),
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (incident_id, version)
);
