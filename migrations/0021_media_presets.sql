-- Media Lab presets: immutable versions per preset id (each id belongs to one kind). The
-- built-in ones are merged in from the code at startup (source 'builtin'); a preset saved from
-- a LangGraph Studio run is a new version (source 'saved'). A job records the id and version.
CREATE TABLE media_presets (
    kind        text NOT NULL CHECK (kind IN ('upscale', 'interpolate', 'generate', 'blend')),
    preset_id   text NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    params      jsonb NOT NULL,
    source      text NOT NULL CHECK (source IN ('builtin', 'saved')),
    created_by  text,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (preset_id, version)
);
-- A version, once written, is what every job that names it ran with: never changed.
CREATE FUNCTION media_presets_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'media preset versions are immutable (% v%)', OLD.preset_id, OLD.version;
END
$$;
CREATE TRIGGER media_presets_immutable BEFORE UPDATE OR DELETE ON media_presets
    FOR EACH ROW EXECUTE FUNCTION media_presets_immutable();
