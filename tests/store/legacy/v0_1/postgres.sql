--
-- PostgreSQL database dump
--

\restrict oLf68GqYxTNXTDbStodAqBpaTVxJcoluHYkrDHbAhdOHivkdOs7dvSHRHSkbKt8

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: skald_legacy_fixture; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA skald_legacy_fixture;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: api_keys; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.api_keys (
    key_id text NOT NULL COLLATE pg_catalog."C",
    secret_hash text NOT NULL COLLATE pg_catalog."C",
    account text NOT NULL COLLATE pg_catalog."C",
    user_name text NOT NULL COLLATE pg_catalog."C",
    role text NOT NULL COLLATE pg_catalog."C",
    read_only boolean NOT NULL,
    created_at double precision NOT NULL,
    revoked_at double precision
);


--
-- Name: archive_extractions; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.archive_extractions (
    session_pk bigint NOT NULL,
    archive_no integer NOT NULL,
    extracted_at double precision NOT NULL,
    memory_diff bytea NOT NULL,
    by_category text DEFAULT '{}'::text NOT NULL COLLATE pg_catalog."C",
    prompt_tokens bigint DEFAULT 0 NOT NULL,
    completion_tokens bigint DEFAULT 0 NOT NULL,
    total_tokens bigint DEFAULT 0 NOT NULL,
    cached_tokens bigint DEFAULT 0 NOT NULL,
    reasoning_tokens bigint DEFAULT 0 NOT NULL
);


--
-- Name: archives; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.archives (
    session_pk bigint NOT NULL,
    archive_no integer NOT NULL,
    created_at double precision NOT NULL,
    status text NOT NULL COLLATE pg_catalog."C",
    message_count integer NOT NULL,
    tokens bigint NOT NULL,
    first_message_id text COLLATE pg_catalog."C",
    last_message_id text COLLATE pg_catalog."C",
    abstract text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    overview text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    memories_extracted integer DEFAULT 0 NOT NULL,
    done_at double precision,
    error text COLLATE pg_catalog."C"
);


--
-- Name: audit_log; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.audit_log (
    id bigint NOT NULL,
    at double precision NOT NULL,
    actor_account text NOT NULL COLLATE pg_catalog."C",
    actor_user text NOT NULL COLLATE pg_catalog."C",
    actor_role text NOT NULL COLLATE pg_catalog."C",
    action text NOT NULL COLLATE pg_catalog."C",
    account text NOT NULL COLLATE pg_catalog."C",
    user_name text NOT NULL COLLATE pg_catalog."C",
    session_id text COLLATE pg_catalog."C",
    counts text NOT NULL COLLATE pg_catalog."C"
);


--
-- Name: audit_log_id_seq; Type: SEQUENCE; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE skald_legacy_fixture.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME skald_legacy_fixture.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: files; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.files (
    pk bigint NOT NULL,
    account text NOT NULL COLLATE pg_catalog."C",
    path text NOT NULL COLLATE pg_catalog."C",
    parent text NOT NULL COLLATE pg_catalog."C",
    is_dir boolean NOT NULL,
    content bytea,
    session_pk bigint,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL
);


--
-- Name: files_pk_seq; Type: SEQUENCE; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE skald_legacy_fixture.files ALTER COLUMN pk ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME skald_legacy_fixture.files_pk_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: idempotency_keys; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.idempotency_keys (
    account text NOT NULL COLLATE pg_catalog."C",
    user_name text NOT NULL COLLATE pg_catalog."C",
    idem_key text NOT NULL COLLATE pg_catalog."C",
    request text NOT NULL COLLATE pg_catalog."C",
    result bytea NOT NULL,
    created_at double precision NOT NULL
);


--
-- Name: memory_sources; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.memory_sources (
    file_pk bigint NOT NULL,
    account text NOT NULL COLLATE pg_catalog."C",
    user_name text NOT NULL COLLATE pg_catalog."C",
    session_id text NOT NULL COLLATE pg_catalog."C",
    archive_no integer NOT NULL,
    created_at double precision NOT NULL
);


--
-- Name: messages; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.messages (
    pk bigint NOT NULL,
    session_pk bigint NOT NULL,
    archive_no integer DEFAULT 0 NOT NULL,
    message_id text NOT NULL COLLATE pg_catalog."C",
    role text NOT NULL COLLATE pg_catalog."C",
    tokens integer NOT NULL,
    is_turn boolean NOT NULL,
    tool_parts integer NOT NULL,
    context_parts integer NOT NULL,
    body bytea NOT NULL
);


--
-- Name: messages_pk_seq; Type: SEQUENCE; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE skald_legacy_fixture.messages ALTER COLUMN pk ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME skald_legacy_fixture.messages_pk_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: sessions; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.sessions (
    pk bigint NOT NULL,
    account text NOT NULL COLLATE pg_catalog."C",
    user_name text NOT NULL COLLATE pg_catalog."C",
    session_id text NOT NULL COLLATE pg_catalog."C",
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    message_count integer DEFAULT 0 NOT NULL,
    total_message_count integer DEFAULT 0 NOT NULL,
    pending_tokens bigint DEFAULT 0 NOT NULL,
    total_tokens bigint DEFAULT 0 NOT NULL,
    total_turns integer DEFAULT 0 NOT NULL,
    commit_count integer DEFAULT 0 NOT NULL,
    memories_extracted integer DEFAULT 0 NOT NULL,
    last_commit_at double precision,
    last_message_at double precision,
    deleted_at double precision,
    deleted_by text COLLATE pg_catalog."C"
);


--
-- Name: sessions_pk_seq; Type: SEQUENCE; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE skald_legacy_fixture.sessions ALTER COLUMN pk ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME skald_legacy_fixture.sessions_pk_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: skald_schema_migrations; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.skald_schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at double precision NOT NULL
);


--
-- Name: tasks; Type: TABLE; Schema: skald_legacy_fixture; Owner: -
--

CREATE TABLE skald_legacy_fixture.tasks (
    task_id text NOT NULL COLLATE pg_catalog."C",
    account text NOT NULL COLLATE pg_catalog."C",
    user_name text NOT NULL COLLATE pg_catalog."C",
    task_type text NOT NULL COLLATE pg_catalog."C",
    session_id text NOT NULL COLLATE pg_catalog."C",
    session_pk bigint,
    archive_no integer,
    status text NOT NULL COLLATE pg_catalog."C",
    claim text COLLATE pg_catalog."C",
    lease_until double precision,
    attempts integer DEFAULT 0 NOT NULL,
    result bytea,
    error text COLLATE pg_catalog."C",
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL
);


--
-- Data for Name: api_keys; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--

INSERT INTO skald_legacy_fixture.api_keys VALUES ('c20732faa590', 'd9b49cddc2043f49b12ed98ae1bb0a7928d3e87755e0108f53de767ca0d25f43', 'acme', 'bob', 'user', false, 1700000000, NULL);
INSERT INTO skald_legacy_fixture.api_keys VALUES ('f8a82225abbc', '9cef4638a5f3a605546ab644515981d2fc1faf1ce5e2515ae3ebb1446db953b5', 'acme', 'carol', 'admin', true, 1700000100, 1700000200);


--
-- Data for Name: archive_extractions; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--

INSERT INTO skald_legacy_fixture.archive_extractions VALUES (2, 1, 1796135019.9327395, '\x7b2261646473223a5b7b2270617468223a22757365722f64656661756c742f6d656d6f726965732f70726f66696c652f6e616d652e6d64222c2263617465676f7279223a2270726f66696c65222c226265666f7265223a6e756c6c2c226166746572223a2254686520757365722773206e616d65206973204164612e227d2c7b2270617468223a22757365722f64656661756c742f6d656d6f726965732f707265666572656e6365732f6c696b65732d68696b696e672e6d64222c2263617465676f7279223a22707265666572656e636573222c226265666f7265223a6e756c6c2c226166746572223a225468652075736572206c696b65732068696b696e672e227d5d2c2275706461746573223a5b5d2c2264656c65746573223a5b5d7d', '{"profile":1,"preferences":1}', 0, 0, 0, 0, 0);
INSERT INTO skald_legacy_fixture.archive_extractions VALUES (2, 2, 1796135019.9417827, '\x7b2261646473223a5b7b2270617468223a22757365722f64656661756c742f6d656d6f726965732f66616374732f6d792d646f672d69732d63616c6c65642d7265782e6d64222c2263617465676f7279223a226661637473222c226265666f7265223a6e756c6c2c226166746572223a2252656d656d6265723a206d7920646f672069732063616c6c6564205265782e227d5d2c2275706461746573223a5b5d2c2264656c65746573223a5b5d7d', '{"facts":1}', 0, 0, 0, 0, 0);
INSERT INTO skald_legacy_fixture.archive_extractions VALUES (3, 1, 1796135019.9524696, '\x7b2261646473223a5b7b2270617468223a22757365722f64656661756c742f6d656d6f726965732f70726f66696c652f70726f66657373696f6e2e6d64222c2263617465676f7279223a2270726f66696c65222c226265666f7265223a6e756c6c2c226166746572223a22546865207573657220776f726b7320617320612070696c6f742e227d5d2c2275706461746573223a5b5d2c2264656c65746573223a5b5d7d', '{"profile":1}', 0, 0, 0, 0, 0);
INSERT INTO skald_legacy_fixture.archive_extractions VALUES (6, 1, 1796135019.971098, '\x7b2261646473223a5b7b2270617468223a22757365722f626f622f6d656d6f726965732f70726f66696c652f6e616d652e6d64222c2263617465676f7279223a2270726f66696c65222c226265666f7265223a6e756c6c2c226166746572223a2254686520757365722773206e616d6520697320426f622e227d5d2c2275706461746573223a5b5d2c2264656c65746573223a5b5d7d', '{"profile":1}', 0, 0, 0, 0, 0);


--
-- Data for Name: archives; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--

INSERT INTO skald_legacy_fixture.archives VALUES (2, 1, 1796135019.9287934, 'done', 3, 29, 'msg_5b29725463774d848222b5ba59b3fe49', 'msg_02073f55fae0471cb4efb14b7cadbad7', '', '', 2, 1796135019.9327395, NULL);
INSERT INTO skald_legacy_fixture.archives VALUES (2, 2, 1796135019.9391549, 'done', 1, 9, 'msg_ed7622da0c214089929f020595b0f653', 'msg_ed7622da0c214089929f020595b0f653', '', '', 1, 1796135019.9417827, NULL);
INSERT INTO skald_legacy_fixture.archives VALUES (3, 1, 1796135019.9501958, 'done', 1, 5, 'msg_3f75b03214cc442da68c8b1ba7e0edfa', 'msg_3f75b03214cc442da68c8b1ba7e0edfa', '', '', 1, 1796135019.9524696, NULL);
INSERT INTO skald_legacy_fixture.archives VALUES (6, 1, 1796135019.9690459, 'done', 1, 4, 'msg_a910105e0b9844afab2915e34fcf80c0', 'msg_a910105e0b9844afab2915e34fcf80c0', '', '', 1, 1796135019.971098, NULL);


--
-- Data for Name: audit_log; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--

INSERT INTO skald_legacy_fixture.audit_log OVERRIDING SYSTEM VALUE VALUES (1, 1796135019.9547908, 'default', 'default/default', 'user', 'soft_delete', 'default', 'default', 'trashed', '{"messages":1,"archives":1,"files":0,"tool_records":0,"pending_tasks":0,"memories_kept":1,"memories_deleted":0}');
INSERT INTO skald_legacy_fixture.audit_log OVERRIDING SYSTEM VALUE VALUES (2, 1796135019.9587355, 'default', 'default/default', 'user', 'delete', 'default', 'default', 'gone', '{"messages":1,"archives":0,"files":0,"tool_records":0,"pending_tasks":0,"memories_kept":0,"memories_deleted":0}');
INSERT INTO skald_legacy_fixture.audit_log OVERRIDING SYSTEM VALUE VALUES (3, 1796135019.9642363, 'default', 'default/default', 'user', 'soft_delete', 'default', 'default', 'restored', '{"messages":1,"archives":0,"files":0,"tool_records":0,"pending_tasks":0,"memories_kept":0,"memories_deleted":0}');
INSERT INTO skald_legacy_fixture.audit_log OVERRIDING SYSTEM VALUE VALUES (4, 1796135019.9660075, 'default', 'default/default', 'user', 'restore', 'default', 'default', 'restored', '{"messages":1}');
INSERT INTO skald_legacy_fixture.audit_log OVERRIDING SYSTEM VALUE VALUES (5, 1796135019.9737492, 'acme', 'acme/bob', 'user', 'soft_delete', 'acme', 'bob', 'bob-1', '{"messages":1,"archives":1,"files":0,"tool_records":0,"pending_tasks":0,"memories_kept":1,"memories_deleted":0}');


--
-- Data for Name: files; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--

INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (1, 'default', 'user/default/memories/profile', 'user/default/memories', true, NULL, NULL, 1796135019.9327395, 1796135019.9327395);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (2, 'default', 'user/default/memories/profile/name.md', 'user/default/memories/profile', false, '\x54686520757365722773206e616d65206973204164612e', NULL, 1796135019.9327395, 1796135019.9327395);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (3, 'default', 'user/default/memories/preferences', 'user/default/memories', true, NULL, NULL, 1796135019.9327395, 1796135019.9327395);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (4, 'default', 'user/default/memories/preferences/likes-hiking.md', 'user/default/memories/preferences', false, '\x5468652075736572206c696b65732068696b696e672e', NULL, 1796135019.9327395, 1796135019.9327395);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (5, 'default', 'user/default/memories/facts', 'user/default/memories', true, NULL, NULL, 1796135019.9417827, 1796135019.9417827);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (6, 'default', 'user/default/memories/facts/my-dog-is-called-rex.md', 'user/default/memories/facts', false, '\x52656d656d6265723a206d7920646f672069732063616c6c6564205265782e', NULL, 1796135019.9417827, 1796135019.9417827);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (7, 'default', 'user/default/sessions/ada/notes', 'user/default/sessions/ada', true, NULL, 2, 1796135019.945152, 1796135019.945152);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (8, 'default', 'user/default/sessions/ada/notes/plan.md', 'user/default/sessions/ada/notes', false, '\x64617920313a206c616b65', 2, 1796135019.945152, 1796135019.945152);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (9, 'default', 'resources/docs', 'resources', true, NULL, NULL, 1796135019.9465659, 1796135019.9465659);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (10, 'default', 'resources/docs/readme.md', 'resources/docs', false, '\x7265736f757263652074657874', NULL, 1796135019.947413, 1796135019.947413);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (11, 'default', 'user/default/memories/profile/profession.md', 'user/default/memories/profile', false, '\x546865207573657220776f726b7320617320612070696c6f742e', NULL, 1796135019.9524696, 1796135019.9524696);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (12, 'acme', 'user/bob/memories/profile', 'user/bob/memories', true, NULL, NULL, 1796135019.971098, 1796135019.971098);
INSERT INTO skald_legacy_fixture.files OVERRIDING SYSTEM VALUE VALUES (13, 'acme', 'user/bob/memories/profile/name.md', 'user/bob/memories/profile', false, '\x54686520757365722773206e616d6520697320426f622e', NULL, 1796135019.971098, 1796135019.971098);


--
-- Data for Name: idempotency_keys; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--



--
-- Data for Name: memory_sources; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--

INSERT INTO skald_legacy_fixture.memory_sources VALUES (2, 'default', 'default', 'ada', 1, 1796135019.9327395);
INSERT INTO skald_legacy_fixture.memory_sources VALUES (4, 'default', 'default', 'ada', 1, 1796135019.9327395);
INSERT INTO skald_legacy_fixture.memory_sources VALUES (6, 'default', 'default', 'ada', 2, 1796135019.9417827);
INSERT INTO skald_legacy_fixture.memory_sources VALUES (11, 'default', 'default', 'trashed', 1, 1796135019.9524696);
INSERT INTO skald_legacy_fixture.memory_sources VALUES (13, 'acme', 'bob', 'bob-1', 1, 1796135019.971098);


--
-- Data for Name: messages; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--

INSERT INTO skald_legacy_fixture.messages OVERRIDING SYSTEM VALUE VALUES (1, 2, 1, 'msg_5b29725463774d848222b5ba59b3fe49', 'user', 10, true, 0, 0, '\x7b226964223a226d73675f3562323937323534363337373464383438323232623562613539623366653439222c22726f6c65223a2275736572222c227061727473223a5b7b2274797065223a2274657874222c2274657874223a2248692c206d79206e616d652069732041646120616e642049206c6f76652068696b696e672e227d5d2c22637265617465645f6174223a22323032362d31322d30315431343a32333a33392e3932313830372b30303a3030227d');
INSERT INTO skald_legacy_fixture.messages OVERRIDING SYSTEM VALUE VALUES (2, 2, 1, 'msg_f0afc49501dc4ea0b1ba8f041c0ec451', 'assistant', 6, false, 0, 0, '\x7b226964223a226d73675f6630616663343935303164633465613062316261386630343163306563343531222c22726f6c65223a22617373697374616e74222c227061727473223a5b7b2274797065223a2274657874222c2274657874223a224e69636520746f206d65657420796f752c2041646121227d5d2c22637265617465645f6174223a22323032362d31322d30315431343a32333a33392e3932363436392b30303a3030227d');
INSERT INTO skald_legacy_fixture.messages OVERRIDING SYSTEM VALUE VALUES (3, 2, 1, 'msg_02073f55fae0471cb4efb14b7cadbad7', 'assistant', 13, false, 1, 0, '\x7b226964223a226d73675f3032303733663535666165303437316362346566623134623763616462616437222c22726f6c65223a22617373697374616e74222c227061727473223a5b7b2274797065223a2274657874222c2274657874223a224c6f6f6b696e6720746861742075702e227d2c7b2274797065223a22746f6f6c222c22746f6f6c5f6964223a2263616c6c2d31222c22746f6f6c5f6e616d65223a22736561726368222c22746f6f6c5f757269223a22222c22736b696c6c5f757269223a22222c22746f6f6c5f696e707574223a7b2271223a22747261696c73227d2c22746f6f6c5f6f7574707574223a223320747261696c73222c22746f6f6c5f737461747573223a22636f6d706c65746564227d5d2c22637265617465645f6174223a22323032362d31322d30315431343a32333a33392e3932373739322b30303a3030227d');
INSERT INTO skald_legacy_fixture.messages OVERRIDING SYSTEM VALUE VALUES (5, 2, 0, 'msg_95d97f14f88c43ea88ac7defe7ecb4c9', 'user', 9, true, 0, 0, '\x7b226964223a226d73675f3935643937663134663838633433656138386163376465666537656362346339222c22726f6c65223a2275736572222c227061727473223a5b7b2274797065223a2274657874222c2274657874223a224920646f6e2774206c696b65206d656574696e6773206265666f7265203130616d2e227d5d2c22637265617465645f6174223a22323032362d31322d30315431343a32333a33392e3933383434322b30303a3030227d');
INSERT INTO skald_legacy_fixture.messages OVERRIDING SYSTEM VALUE VALUES (4, 2, 2, 'msg_ed7622da0c214089929f020595b0f653', 'user', 9, true, 0, 0, '\x7b226964223a226d73675f6564373632326461306332313430383939323966303230353935623066363533222c22726f6c65223a2275736572222c227061727473223a5b7b2274797065223a2274657874222c2274657874223a2252656d656d6265722074686174206d7920646f672069732063616c6c6564205265782e227d5d2c22637265617465645f6174223a22323032362d31322d30315431343a32333a33392e3933373437342b30303a3030227d');
INSERT INTO skald_legacy_fixture.messages OVERRIDING SYSTEM VALUE VALUES (6, 3, 1, 'msg_3f75b03214cc442da68c8b1ba7e0edfa', 'user', 5, true, 0, 0, '\x7b226964223a226d73675f3366373562303332313463633434326461363863386231626137653065646661222c22726f6c65223a2275736572222c227061727473223a5b7b2274797065223a2274657874222c2274657874223a224920776f726b20617320612070696c6f742e227d5d2c22637265617465645f6174223a22323032362d31322d30315431343a32333a33392e3934383133342b30303a3030227d');
INSERT INTO skald_legacy_fixture.messages OVERRIDING SYSTEM VALUE VALUES (8, 5, 0, 'msg_cca0b034916d425abcc31c4101f09acd', 'user', 3, true, 0, 0, '\x7b226964223a226d73675f6363613062303334393136643432356162636333316334313031663039616364222c22726f6c65223a2275736572222c227061727473223a5b7b2274797065223a2274657874222c2274657874223a226261636b20616761696e227d5d2c22637265617465645f6174223a22323032362d31322d30315431343a32333a33392e3936313133362b30303a3030227d');
INSERT INTO skald_legacy_fixture.messages OVERRIDING SYSTEM VALUE VALUES (9, 6, 1, 'msg_a910105e0b9844afab2915e34fcf80c0', 'user', 4, true, 0, 0, '\x7b226964223a226d73675f6139313031303565306239383434616661623239313565333466636638306330222c22726f6c65223a2275736572222c227061727473223a5b7b2274797065223a2274657874222c2274657874223a224d79206e616d6520697320426f622e227d5d2c22637265617465645f6174223a22323032362d31322d30315431343a32333a33392e3936373234352b30303a3030227d');


--
-- Data for Name: sessions; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--

INSERT INTO skald_legacy_fixture.sessions OVERRIDING SYSTEM VALUE VALUES (1, 'default', 'default', 'empty', 1796135019.9195132, 1796135019.9195132, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL);
INSERT INTO skald_legacy_fixture.sessions OVERRIDING SYSTEM VALUE VALUES (2, 'default', 'default', 'ada', 1796135019.9218066, 1796135019.9391549, 1, 5, 9, 47, 3, 2, 3, 1796135019.9391549, 1796135019.9384425, NULL, NULL);
INSERT INTO skald_legacy_fixture.sessions OVERRIDING SYSTEM VALUE VALUES (3, 'default', 'default', 'trashed', 1796135019.9481342, 1796135019.9501958, 0, 1, 0, 5, 1, 1, 1, 1796135019.9501958, 1796135019.9481342, 1796135019.9547908, 'default/default');
INSERT INTO skald_legacy_fixture.sessions OVERRIDING SYSTEM VALUE VALUES (5, 'default', 'default', 'restored', 1796135019.9611356, 1796135019.9660075, 1, 1, 3, 3, 1, 0, 0, NULL, 1796135019.9611356, NULL, NULL);
INSERT INTO skald_legacy_fixture.sessions OVERRIDING SYSTEM VALUE VALUES (6, 'acme', 'bob', 'bob-1', 1796135019.967245, 1796135019.9690459, 0, 1, 0, 4, 1, 1, 1, 1796135019.9690459, 1796135019.967245, 1796135019.9737492, 'acme/bob');


--
-- Data for Name: skald_schema_migrations; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--

INSERT INTO skald_legacy_fixture.skald_schema_migrations VALUES (1, 'initial schema (SQLite schema version 3)', 1796135019.8929396);


--
-- Data for Name: tasks; Type: TABLE DATA; Schema: skald_legacy_fixture; Owner: -
--

INSERT INTO skald_legacy_fixture.tasks VALUES ('3647d568-73c5-48d6-824b-8ad81132f062', 'default', 'default', 'session_commit', 'ada', 2, 1, 'completed', NULL, 1796135049.9311368, 1, '\x7b2273657373696f6e5f6964223a22616461222c22617263686976655f757269223a2276696b696e673a2f2f757365722f64656661756c742f73657373696f6e732f6164612f686973746f72792f617263686976655f303031222c226d656d6f726965735f657874726163746564223a7b22746f74616c223a322c22707265666572656e636573223a312c2270726f66696c65223a317d2c226d656d6f726965735f64656c65746564223a302c226d656d6f72795f75726973223a5b2276696b696e673a2f2f757365722f64656661756c742f6d656d6f726965732f707265666572656e6365732f6c696b65732d68696b696e672e6d64222c2276696b696e673a2f2f757365722f64656661756c742f6d656d6f726965732f70726f66696c652f6e616d652e6d64225d2c226d656d6f72795f646966665f757269223a2276696b696e673a2f2f757365722f64656661756c742f73657373696f6e732f6164612f686973746f72792f617263686976655f3030312f6d656d6f72795f646966662e6a736f6e222c22657874726163746f72223a226275696c74696e222c22746f6b656e5f7573616765223a7b226c6c6d223a7b2270726f6d70745f746f6b656e73223a302c22636f6d706c6574696f6e5f746f6b656e73223a302c22746f74616c5f746f6b656e73223a302c226361636865645f746f6b656e73223a302c22726561736f6e696e675f746f6b656e73223a307d2c22656d62656464696e67223a7b22746f74616c5f746f6b656e73223a307d2c22746f74616c223a7b22746f74616c5f746f6b656e73223a302c226361636865645f746f6b656e73223a302c22726561736f6e696e675f746f6b656e73223a307d7d7d', NULL, 1796135019.9287934, 1796135019.9327395);
INSERT INTO skald_legacy_fixture.tasks VALUES ('843fe4ff-c5af-431a-8bc7-17852e1a4326', 'default', 'default', 'session_commit', 'ada', 2, 2, 'completed', NULL, 1796135049.940865, 1, '\x7b2273657373696f6e5f6964223a22616461222c22617263686976655f757269223a2276696b696e673a2f2f757365722f64656661756c742f73657373696f6e732f6164612f686973746f72792f617263686976655f303032222c226d656d6f726965735f657874726163746564223a7b22746f74616c223a312c226661637473223a317d2c226d656d6f726965735f64656c65746564223a302c226d656d6f72795f75726973223a5b2276696b696e673a2f2f757365722f64656661756c742f6d656d6f726965732f66616374732f6d792d646f672d69732d63616c6c65642d7265782e6d64225d2c226d656d6f72795f646966665f757269223a2276696b696e673a2f2f757365722f64656661756c742f73657373696f6e732f6164612f686973746f72792f617263686976655f3030322f6d656d6f72795f646966662e6a736f6e222c22657874726163746f72223a226275696c74696e222c22746f6b656e5f7573616765223a7b226c6c6d223a7b2270726f6d70745f746f6b656e73223a302c22636f6d706c6574696f6e5f746f6b656e73223a302c22746f74616c5f746f6b656e73223a302c226361636865645f746f6b656e73223a302c22726561736f6e696e675f746f6b656e73223a307d2c22656d62656464696e67223a7b22746f74616c5f746f6b656e73223a307d2c22746f74616c223a7b22746f74616c5f746f6b656e73223a302c226361636865645f746f6b656e73223a302c22726561736f6e696e675f746f6b656e73223a307d7d7d', NULL, 1796135019.9391549, 1796135019.9417827);
INSERT INTO skald_legacy_fixture.tasks VALUES ('89f48411-ac3e-4419-b3fc-7840ff56d753', 'default', 'default', 'session_commit', 'trashed', 3, 1, 'completed', NULL, 1796135049.9514027, 1, '\x7b2273657373696f6e5f6964223a2274726173686564222c22617263686976655f757269223a2276696b696e673a2f2f757365722f64656661756c742f73657373696f6e732f747261736865642f686973746f72792f617263686976655f303031222c226d656d6f726965735f657874726163746564223a7b22746f74616c223a312c2270726f66696c65223a317d2c226d656d6f726965735f64656c65746564223a302c226d656d6f72795f75726973223a5b2276696b696e673a2f2f757365722f64656661756c742f6d656d6f726965732f70726f66696c652f70726f66657373696f6e2e6d64225d2c226d656d6f72795f646966665f757269223a2276696b696e673a2f2f757365722f64656661756c742f73657373696f6e732f747261736865642f686973746f72792f617263686976655f3030312f6d656d6f72795f646966662e6a736f6e222c22657874726163746f72223a226275696c74696e222c22746f6b656e5f7573616765223a7b226c6c6d223a7b2270726f6d70745f746f6b656e73223a302c22636f6d706c6574696f6e5f746f6b656e73223a302c22746f74616c5f746f6b656e73223a302c226361636865645f746f6b656e73223a302c22726561736f6e696e675f746f6b656e73223a307d2c22656d62656464696e67223a7b22746f74616c5f746f6b656e73223a307d2c22746f74616c223a7b22746f74616c5f746f6b656e73223a302c226361636865645f746f6b656e73223a302c22726561736f6e696e675f746f6b656e73223a307d7d7d', NULL, 1796135019.9501958, 1796135019.9524696);
INSERT INTO skald_legacy_fixture.tasks VALUES ('0400e644-adeb-4cb5-b99e-c41825b453e9', 'acme', 'bob', 'session_commit', 'bob-1', 6, 1, 'completed', NULL, 1796135049.9702544, 1, '\x7b2273657373696f6e5f6964223a22626f622d31222c22617263686976655f757269223a2276696b696e673a2f2f757365722f626f622f73657373696f6e732f626f622d312f686973746f72792f617263686976655f303031222c226d656d6f726965735f657874726163746564223a7b22746f74616c223a312c2270726f66696c65223a317d2c226d656d6f726965735f64656c65746564223a302c226d656d6f72795f75726973223a5b2276696b696e673a2f2f757365722f626f622f6d656d6f726965732f70726f66696c652f6e616d652e6d64225d2c226d656d6f72795f646966665f757269223a2276696b696e673a2f2f757365722f626f622f73657373696f6e732f626f622d312f686973746f72792f617263686976655f3030312f6d656d6f72795f646966662e6a736f6e222c22657874726163746f72223a226275696c74696e222c22746f6b656e5f7573616765223a7b226c6c6d223a7b2270726f6d70745f746f6b656e73223a302c22636f6d706c6574696f6e5f746f6b656e73223a302c22746f74616c5f746f6b656e73223a302c226361636865645f746f6b656e73223a302c22726561736f6e696e675f746f6b656e73223a307d2c22656d62656464696e67223a7b22746f74616c5f746f6b656e73223a307d2c22746f74616c223a7b22746f74616c5f746f6b656e73223a302c226361636865645f746f6b656e73223a302c22726561736f6e696e675f746f6b656e73223a307d7d7d', NULL, 1796135019.9690459, 1796135019.971098);


--
-- Name: audit_log_id_seq; Type: SEQUENCE SET; Schema: skald_legacy_fixture; Owner: -
--

SELECT pg_catalog.setval('skald_legacy_fixture.audit_log_id_seq', 5, true);


--
-- Name: files_pk_seq; Type: SEQUENCE SET; Schema: skald_legacy_fixture; Owner: -
--

SELECT pg_catalog.setval('skald_legacy_fixture.files_pk_seq', 13, true);


--
-- Name: messages_pk_seq; Type: SEQUENCE SET; Schema: skald_legacy_fixture; Owner: -
--

SELECT pg_catalog.setval('skald_legacy_fixture.messages_pk_seq', 9, true);


--
-- Name: sessions_pk_seq; Type: SEQUENCE SET; Schema: skald_legacy_fixture; Owner: -
--

SELECT pg_catalog.setval('skald_legacy_fixture.sessions_pk_seq', 6, true);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (key_id);


--
-- Name: archive_extractions archive_extractions_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.archive_extractions
    ADD CONSTRAINT archive_extractions_pkey PRIMARY KEY (session_pk, archive_no);


--
-- Name: archives archives_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.archives
    ADD CONSTRAINT archives_pkey PRIMARY KEY (session_pk, archive_no);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);


--
-- Name: files files_account_path_key; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.files
    ADD CONSTRAINT files_account_path_key UNIQUE (account, path);


--
-- Name: files files_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.files
    ADD CONSTRAINT files_pkey PRIMARY KEY (pk);


--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (account, user_name, idem_key);


--
-- Name: memory_sources memory_sources_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.memory_sources
    ADD CONSTRAINT memory_sources_pkey PRIMARY KEY (file_pk, session_id, archive_no);


--
-- Name: messages messages_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (pk);


--
-- Name: sessions sessions_account_user_name_session_id_key; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.sessions
    ADD CONSTRAINT sessions_account_user_name_session_id_key UNIQUE (account, user_name, session_id);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (pk);


--
-- Name: skald_schema_migrations skald_schema_migrations_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.skald_schema_migrations
    ADD CONSTRAINT skald_schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: tasks tasks_pkey; Type: CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (task_id);


--
-- Name: audit_log_by_account; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX audit_log_by_account ON skald_legacy_fixture.audit_log USING btree (account, id);


--
-- Name: files_by_parent; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX files_by_parent ON skald_legacy_fixture.files USING btree (account, parent);


--
-- Name: files_by_session; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX files_by_session ON skald_legacy_fixture.files USING btree (session_pk);


--
-- Name: idempotency_keys_age; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX idempotency_keys_age ON skald_legacy_fixture.idempotency_keys USING btree (created_at);


--
-- Name: memory_sources_by_session; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX memory_sources_by_session ON skald_legacy_fixture.memory_sources USING btree (account, user_name, session_id);


--
-- Name: messages_in_session; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX messages_in_session ON skald_legacy_fixture.messages USING btree (session_pk, archive_no, pk);


--
-- Name: messages_with_parts; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX messages_with_parts ON skald_legacy_fixture.messages USING btree (session_pk) WHERE ((tool_parts > 0) OR (context_parts > 0));


--
-- Name: sessions_newest; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX sessions_newest ON skald_legacy_fixture.sessions USING btree (account, user_name, created_at DESC, session_id DESC);


--
-- Name: sessions_trashed; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX sessions_trashed ON skald_legacy_fixture.sessions USING btree (deleted_at) WHERE (deleted_at IS NOT NULL);


--
-- Name: tasks_of_owner; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX tasks_of_owner ON skald_legacy_fixture.tasks USING btree (account, user_name);


--
-- Name: tasks_of_session; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX tasks_of_session ON skald_legacy_fixture.tasks USING btree (session_pk);


--
-- Name: tasks_runnable; Type: INDEX; Schema: skald_legacy_fixture; Owner: -
--

CREATE INDEX tasks_runnable ON skald_legacy_fixture.tasks USING btree (created_at) WHERE (status = ANY (ARRAY['pending'::text, 'running'::text]));


--
-- Name: archive_extractions archive_extractions_session_pk_archive_no_fkey; Type: FK CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.archive_extractions
    ADD CONSTRAINT archive_extractions_session_pk_archive_no_fkey FOREIGN KEY (session_pk, archive_no) REFERENCES skald_legacy_fixture.archives(session_pk, archive_no) ON DELETE CASCADE;


--
-- Name: archives archives_session_pk_fkey; Type: FK CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.archives
    ADD CONSTRAINT archives_session_pk_fkey FOREIGN KEY (session_pk) REFERENCES skald_legacy_fixture.sessions(pk) ON DELETE CASCADE;


--
-- Name: files files_session_pk_fkey; Type: FK CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.files
    ADD CONSTRAINT files_session_pk_fkey FOREIGN KEY (session_pk) REFERENCES skald_legacy_fixture.sessions(pk) ON DELETE CASCADE;


--
-- Name: memory_sources memory_sources_file_pk_fkey; Type: FK CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.memory_sources
    ADD CONSTRAINT memory_sources_file_pk_fkey FOREIGN KEY (file_pk) REFERENCES skald_legacy_fixture.files(pk) ON DELETE CASCADE;


--
-- Name: messages messages_session_pk_fkey; Type: FK CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.messages
    ADD CONSTRAINT messages_session_pk_fkey FOREIGN KEY (session_pk) REFERENCES skald_legacy_fixture.sessions(pk) ON DELETE CASCADE;


--
-- Name: tasks tasks_session_pk_fkey; Type: FK CONSTRAINT; Schema: skald_legacy_fixture; Owner: -
--

ALTER TABLE ONLY skald_legacy_fixture.tasks
    ADD CONSTRAINT tasks_session_pk_fkey FOREIGN KEY (session_pk) REFERENCES skald_legacy_fixture.sessions(pk) ON DELETE SET NULL;


--
-- PostgreSQL database dump complete
--

\unrestrict oLf68GqYxTNXTDbStodAqBpaTVxJcoluHYkrDHbAhdOHivkdOs7dvSHRHSkbKt8

