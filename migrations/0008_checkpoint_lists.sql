-- Message lists of checkpoints stored as deltas (api/checkpointer.py): each message once per
-- thread, each version of a list as the version it extends plus what changed. The saver's own
-- tables (checkpoints, checkpoint_blobs, checkpoint_writes) belong to its `setup()`.
CREATE TABLE checkpoint_list_items (
    thread_id      text NOT NULL,
    checkpoint_ns  text NOT NULL DEFAULT '',
    -- BLAKE2b-128 of the serialized item (type and bytes): an edited message is a new item.
    key            text NOT NULL,
    type           text NOT NULL,
    blob           bytea NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_ns, key)
);
CREATE TABLE checkpoint_lists (
    thread_id      text NOT NULL,
    checkpoint_ns  text NOT NULL DEFAULT '',
    channel        text NOT NULL,
    -- The channel version, as in the checkpoint's `channel_versions`.
    version        text NOT NULL,
    -- The list: the first `keep` items of version `base` (nothing when NULL), then `keys`.
    base           text,
    keep           integer NOT NULL DEFAULT 0,
    keys           text[] NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_ns, channel, version),
    -- A version can only be deleted with every version built on it (a whole thread at once).
    FOREIGN KEY (thread_id, checkpoint_ns, channel, base)
        REFERENCES checkpoint_lists (thread_id, checkpoint_ns, channel, version)
);
CREATE INDEX checkpoint_lists_base_idx ON checkpoint_lists (thread_id, checkpoint_ns, channel, base);
