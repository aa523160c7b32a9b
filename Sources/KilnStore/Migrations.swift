// The schema, as an ordered list of migrations shared by SQLite and PostgreSQL.
import Foundation
import SQLKit

/// One schema change; statements use `{id}`, `{int}`, `{real}` and `{bool}` for the types that
/// differ between dialects, and a statement whose first line is `-- sqlite` or `-- postgres` runs on that engine only.
public struct Migration: Sendable {
    /// Applied in increasing order; never reused.
    public let version: Int
    /// A short name for logs.
    public let name: String
    /// The statements, run in one transaction.
    public let statements: [String]
}

/// Brings a database to the newest schema.
public enum Migrator {
    /// Every migration this build knows, oldest first. Append only: shipped migrations never change.
    public static let migrations: [Migration] = [
        Migration(version: 1, name: "accounts and datanets", statements: [
            """
            CREATE TABLE users (
                id {id},
                username TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                is_admin {bool} NOT NULL DEFAULT 0,
                created_at {int} NOT NULL
            )
            """,
            """
            CREATE TABLE tokens (
                token_hash TEXT PRIMARY KEY,
                user_id {int} NOT NULL REFERENCES users(id),
                kind TEXT NOT NULL,
                csrf TEXT,
                created_at {int} NOT NULL,
                expires_at {int}
            )
            """,
            "CREATE INDEX tokens_user ON tokens(user_id)",
            """
            CREATE TABLE datanets (
                id {id},
                slug TEXT NOT NULL UNIQUE,
                title TEXT NOT NULL,
                description TEXT NOT NULL,
                kind TEXT NOT NULL,
                schema TEXT NOT NULL,
                rules TEXT NOT NULL,
                license TEXT NOT NULL,
                created_by {int} NOT NULL REFERENCES users(id),
                created_at {int} NOT NULL
            )
            """,
            """
            CREATE TABLE curators (
                datanet_id {int} NOT NULL REFERENCES datanets(id),
                user_id {int} NOT NULL REFERENCES users(id),
                added_at {int} NOT NULL,
                PRIMARY KEY (datanet_id, user_id)
            )
            """,
            """
            CREATE TABLE submissions (
                id {id},
                datanet_id {int} NOT NULL REFERENCES datanets(id),
                contributor_id {int} NOT NULL REFERENCES users(id),
                status TEXT NOT NULL,
                stage TEXT,
                reason_code TEXT,
                reason TEXT,
                sha256 TEXT NOT NULL,
                bytes {int} NOT NULL,
                format TEXT NOT NULL,
                content TEXT,
                blob_sha256 TEXT,
                file_name TEXT,
                width {int},
                height {int},
                seconds {real},
                chars {int},
                minhash TEXT,
                checks TEXT NOT NULL,
                day {int} NOT NULL,
                created_at {int} NOT NULL,
                decided_at {int},
                decided_by {int} REFERENCES users(id)
            )
            """,
            // One live (pending or accepted) copy of any content per Datanet; rejected copies may repeat.
            "CREATE UNIQUE INDEX submissions_live_hash ON submissions(datanet_id, sha256) WHERE status <> 'rejected'",
            // Covers the daily-limit count (status included), so it never touches the table rows.
            "CREATE INDEX submissions_daily ON submissions(contributor_id, datanet_id, day, status)",
            "CREATE INDEX submissions_queue ON submissions(datanet_id, status, id)",
            "CREATE INDEX submissions_mine ON submissions(contributor_id, id)",
            """
            CREATE TABLE submission_events (
                id {id},
                submission_id {int} NOT NULL REFERENCES submissions(id),
                from_status TEXT,
                to_status TEXT NOT NULL,
                stage TEXT NOT NULL,
                actor_id {int} REFERENCES users(id),
                reason TEXT,
                at {int} NOT NULL
            )
            """,
            "CREATE INDEX submission_events_item ON submission_events(submission_id, id)",
            // The arrival of every submission is recorded by the database itself, one statement fewer per upload.
            """
            -- sqlite
            CREATE TRIGGER submissions_arrival AFTER INSERT ON submissions BEGIN
                INSERT INTO submission_events (submission_id, from_status, to_status, stage, actor_id, reason, at)
                VALUES (NEW.id, NULL, NEW.status, 'auto', NULL, NEW.reason, NEW.created_at);
            END
            """,
            """
            -- postgres
            CREATE FUNCTION submission_arrival() RETURNS trigger AS $$
            BEGIN
                INSERT INTO submission_events (submission_id, from_status, to_status, stage, actor_id, reason, at)
                VALUES (NEW.id, NULL, NEW.status, 'auto', NULL, NEW.reason, NEW.created_at);
                RETURN NEW;
            END $$ LANGUAGE plpgsql
            """,
            """
            -- postgres
            CREATE TRIGGER submissions_arrival AFTER INSERT ON submissions FOR EACH ROW EXECUTE FUNCTION submission_arrival()
            """,
            """
            CREATE TABLE minhash_bands (
                datanet_id {int} NOT NULL,
                band_key {int} NOT NULL,
                submission_id {int} NOT NULL REFERENCES submissions(id)
            )
            """,
            "CREATE INDEX minhash_bands_key ON minhash_bands(datanet_id, band_key)",
            """
            CREATE TABLE versions (
                id {id},
                datanet_id {int} NOT NULL REFERENCES datanets(id),
                number {int} NOT NULL,
                merkle_root TEXT NOT NULL,
                item_count {int} NOT NULL,
                train_count {int} NOT NULL,
                validation_count {int} NOT NULL,
                bytes {int} NOT NULL,
                created_by {int} NOT NULL REFERENCES users(id),
                created_at {int} NOT NULL,
                UNIQUE (datanet_id, number)
            )
            """,
            """
            CREATE TABLE version_items (
                version_id {int} NOT NULL REFERENCES versions(id),
                position {int} NOT NULL,
                submission_id {int} NOT NULL REFERENCES submissions(id),
                sha256 TEXT NOT NULL,
                split TEXT NOT NULL,
                PRIMARY KEY (version_id, position)
            )
            """,
        ]),
        Migration(version: 2, name: "ledger", statements: [
            """
            CREATE TABLE ledger_entries (
                seq {int} PRIMARY KEY,
                entry TEXT NOT NULL,
                hash TEXT NOT NULL,
                signature TEXT NOT NULL,
                kind TEXT NOT NULL,
                subject TEXT,
                created_at {int} NOT NULL
            )
            """,
            "CREATE INDEX ledger_entries_subject ON ledger_entries(subject, seq)",
            """
            CREATE TABLE ledger_heads (
                tree_size {int} PRIMARY KEY,
                root TEXT NOT NULL,
                timestamp {int} NOT NULL,
                signature TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE ledger_keys (
                public_key TEXT PRIMARY KEY,
                created_at {int} NOT NULL
            )
            """,
        ]),
        Migration(version: 3, name: "usernames unique ignoring case", statements: [
            // LOWER() works the same on both engines for the ASCII names Kiln allows; the index makes two concurrent
            // sign-ups of "Ada" and "ada" impossible on PostgreSQL too, where no single writer orders them.
            "CREATE UNIQUE INDEX users_username_lower ON users (LOWER(username))",
        ]),
        Migration(version: 4, name: "bounded rejections, quotas, counters and standings", statements: [
            // The salt of the hash that commits a rejection's ledger entry to its contributor without naming them.
            "ALTER TABLE submissions ADD COLUMN ledger_salt TEXT",
            // A curator's acceptance of their own item: it is in the Datanet but counts on no leaderboard until another curator accepts it.
            "ALTER TABLE submissions ADD COLUMN self_accepted {bool} NOT NULL DEFAULT 0",
            // Covers the count of a contributor's automatic rejections per Datanet per day, which has its own limit.
            "CREATE INDEX submissions_auto_rejected ON submissions(contributor_id, datanet_id, day) WHERE status = 'rejected' AND stage = 'auto'",
            // Bytes of a user's live (pending or accepted) items, kept with each change so the quota costs one row.
            "ALTER TABLE users ADD COLUMN stored_bytes {int} NOT NULL DEFAULT 0",
            """
            UPDATE users SET stored_bytes = COALESCE((SELECT CAST(SUM(s.bytes) AS BIGINT) FROM submissions s
                WHERE s.contributor_id = users.id AND s.status <> 'rejected'), 0)
            """,
            // Item counts kept with each change, so a page of Datanets never counts their items.
            "ALTER TABLE datanets ADD COLUMN pending_count {int} NOT NULL DEFAULT 0",
            "ALTER TABLE datanets ADD COLUMN accepted_count {int} NOT NULL DEFAULT 0",
            "ALTER TABLE datanets ADD COLUMN rejected_count {int} NOT NULL DEFAULT 0",
            """
            UPDATE datanets SET
                pending_count = (SELECT COUNT(*) FROM submissions s WHERE s.datanet_id = datanets.id AND s.status = 'pending'),
                accepted_count = (SELECT COUNT(*) FROM submissions s WHERE s.datanet_id = datanets.id AND s.status = 'accepted'),
                rejected_count = (SELECT COUNT(*) FROM submissions s WHERE s.datanet_id = datanets.id AND s.status = 'rejected')
            """,
            // Leaderboards kept as rows (datanet_id 0 is the whole node), so a page of them is an index range.
            """
            CREATE TABLE standings (
                datanet_id {int} NOT NULL,
                user_id {int} NOT NULL REFERENCES users(id),
                username TEXT NOT NULL,
                accepted {int} NOT NULL,
                accepted_bytes {int} NOT NULL,
                PRIMARY KEY (datanet_id, user_id)
            )
            """,
            "CREATE INDEX standings_rank ON standings(datanet_id, accepted DESC, accepted_bytes DESC, username)",
            """
            INSERT INTO standings (datanet_id, user_id, username, accepted, accepted_bytes)
            SELECT s.datanet_id, s.contributor_id, u.username, COUNT(*), CAST(SUM(s.bytes) AS BIGINT)
            FROM submissions s JOIN users u ON u.id = s.contributor_id WHERE s.status = 'accepted'
            GROUP BY s.datanet_id, s.contributor_id, u.username
            """,
            """
            INSERT INTO standings (datanet_id, user_id, username, accepted, accepted_bytes)
            SELECT 0, s.contributor_id, u.username, COUNT(*), CAST(SUM(s.bytes) AS BIGINT)
            FROM submissions s JOIN users u ON u.id = s.contributor_id WHERE s.status = 'accepted'
            GROUP BY s.contributor_id, u.username
            """,
            // One ledger entry can be about many things (the automatic rejections of one request); receipts find it by each.
            """
            CREATE TABLE ledger_subjects (
                subject TEXT NOT NULL,
                seq {int} NOT NULL REFERENCES ledger_entries(seq),
                PRIMARY KEY (subject, seq)
            )
            """,
        ]),
        Migration(version: 5, name: "counters kept by triggers", statements: [
            // Every insert and status change moves the Datanet's item counts and the contributor's stored bytes, in the
            // statement that makes it: no code path can forget them, and a submission costs no extra round trips.
            """
            -- sqlite
            CREATE TRIGGER submissions_counted AFTER INSERT ON submissions BEGIN
                UPDATE datanets SET pending_count = pending_count + (NEW.status = 'pending'),
                    accepted_count = accepted_count + (NEW.status = 'accepted'), rejected_count = rejected_count + (NEW.status = 'rejected')
                WHERE id = NEW.datanet_id;
                UPDATE users SET stored_bytes = stored_bytes + NEW.bytes WHERE id = NEW.contributor_id AND NEW.status <> 'rejected';
            END
            """,
            """
            -- sqlite
            CREATE TRIGGER submissions_recounted AFTER UPDATE OF status ON submissions WHEN OLD.status <> NEW.status BEGIN
                UPDATE datanets SET pending_count = pending_count + (NEW.status = 'pending') - (OLD.status = 'pending'),
                    accepted_count = accepted_count + (NEW.status = 'accepted') - (OLD.status = 'accepted'),
                    rejected_count = rejected_count + (NEW.status = 'rejected') - (OLD.status = 'rejected')
                WHERE id = NEW.datanet_id;
                UPDATE users SET stored_bytes = stored_bytes
                    + CASE WHEN NEW.status = 'rejected' THEN -NEW.bytes WHEN OLD.status = 'rejected' THEN NEW.bytes ELSE 0 END
                WHERE id = NEW.contributor_id;
            END
            """,
            """
            -- postgres
            CREATE FUNCTION submission_counts() RETURNS trigger AS $$
            DECLARE
                was TEXT := CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END;
            BEGIN
                IF was IS NOT DISTINCT FROM NEW.status THEN RETURN NEW; END IF;
                UPDATE datanets SET
                    pending_count = pending_count + (CASE WHEN NEW.status = 'pending' THEN 1 ELSE 0 END) - (CASE WHEN was = 'pending' THEN 1 ELSE 0 END),
                    accepted_count = accepted_count + (CASE WHEN NEW.status = 'accepted' THEN 1 ELSE 0 END) - (CASE WHEN was = 'accepted' THEN 1 ELSE 0 END),
                    rejected_count = rejected_count + (CASE WHEN NEW.status = 'rejected' THEN 1 ELSE 0 END) - (CASE WHEN was = 'rejected' THEN 1 ELSE 0 END)
                WHERE id = NEW.datanet_id;
                UPDATE users SET stored_bytes = stored_bytes + CASE
                    WHEN NEW.status = 'rejected' AND was IS NOT NULL THEN -NEW.bytes
                    WHEN NEW.status <> 'rejected' AND (was IS NULL OR was = 'rejected') THEN NEW.bytes
                    ELSE 0 END
                WHERE id = NEW.contributor_id;
                RETURN NEW;
            END $$ LANGUAGE plpgsql
            """,
            """
            -- postgres
            CREATE TRIGGER submissions_counted AFTER INSERT OR UPDATE OF status ON submissions FOR EACH ROW EXECUTE FUNCTION submission_counts()
            """,
        ]),
        Migration(version: 6, name: "training jobs", statements: [
            // A fine-tuning run queued on this node: its spec (the TrainingSpec JSON), its folder under DATA/runs/, its
            // state (queued → running → succeeded | failed | cancelled), the last progress event, and once it succeeds
            // the adapter's hash and the run.finished ledger entry.
            """
            CREATE TABLE training_jobs (
                id {id},
                owner_id {int} NOT NULL REFERENCES users(id),
                datanet_id {int} NOT NULL REFERENCES datanets(id),
                version_number {int} NOT NULL,
                base TEXT NOT NULL,
                state TEXT NOT NULL,
                spec TEXT NOT NULL,
                output_dir TEXT NOT NULL,
                progress TEXT,
                error TEXT,
                adapter_sha256 TEXT,
                ledger_seq {int},
                cancel_requested {bool} NOT NULL DEFAULT 0,
                created_at {int} NOT NULL,
                started_at {int},
                finished_at {int}
            )
            """,
            "CREATE INDEX training_jobs_state ON training_jobs (state, id)",
        ]),
        Migration(version: 7, name: "private runs", statements: [
            // A private run is seen, followed, cancelled, resumed and downloaded by its owner (and admins) alone.
            "ALTER TABLE training_jobs ADD COLUMN is_private {bool} NOT NULL DEFAULT 0",
        ]),
        Migration(version: 8, name: "private datanets", statements: [
            // A private Datanet, its items, versions and exports are seen by its curators (and admins) alone.
            "ALTER TABLE datanets ADD COLUMN is_private {bool} NOT NULL DEFAULT 0",
        ]),
        Migration(version: 9, name: "chat conversations", statements: [
            """
            CREATE TABLE conversations (
                id {id},
                owner_id {int} NOT NULL REFERENCES users(id),
                title TEXT NOT NULL,
                body TEXT NOT NULL,
                updated_at {int} NOT NULL
            )
            """,
            "CREATE INDEX conversations_owner ON conversations (owner_id, updated_at)",
        ]),
        Migration(version: 10, name: "knowledge bases", statements: [
            // A knowledge base: its owner, whether every signed-in user may search it, and its settings (chunking, BM25,
            // HNSW) as JSON. The built-in base of Kiln's own docs has no owner and a fixed name.
            """
            CREATE TABLE knowledge_bases (
                id {id},
                owner_id {int} REFERENCES users(id),
                name TEXT NOT NULL,
                description TEXT NOT NULL,
                is_public {bool} NOT NULL DEFAULT 0,
                is_builtin {bool} NOT NULL DEFAULT 0,
                embedder TEXT NOT NULL,
                settings TEXT NOT NULL,
                created_at {int} NOT NULL,
                updated_at {int} NOT NULL
            )
            """,
            // A document is replaced by name: the old row and its chunks go in the same transaction the new ones come in.
            """
            CREATE TABLE knowledge_documents (
                id {id},
                base_id {int} NOT NULL REFERENCES knowledge_bases(id),
                name TEXT NOT NULL,
                format TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                byte_count {int} NOT NULL,
                datanet_id {int},
                version_number {int},
                chunk_count {int} NOT NULL,
                created_at {int} NOT NULL,
                UNIQUE (base_id, name)
            )
            """,
            // A chunk's embedding is its little-endian float32 vector in base64, the same text on both engines.
            """
            CREATE TABLE knowledge_chunks (
                id {id},
                base_id {int} NOT NULL,
                document_id {int} NOT NULL REFERENCES knowledge_documents(id),
                position {int} NOT NULL,
                heading_path TEXT NOT NULL,
                text TEXT NOT NULL,
                embedding TEXT NOT NULL,
                item_id {int},
                contributor TEXT
            )
            """,
            "CREATE INDEX knowledge_chunks_base ON knowledge_chunks (base_id, id)",
            "CREATE INDEX knowledge_chunks_document ON knowledge_chunks (document_id, position)",
            // Which chunks an answer was given, for attribution: the completion's id and the chunk ids in prompt order.
            """
            CREATE TABLE knowledge_uses (
                id {id},
                owner_id {int} NOT NULL REFERENCES users(id),
                completion_id TEXT NOT NULL,
                chunk_ids TEXT NOT NULL,
                created_at {int} NOT NULL
            )
            """,
            "CREATE INDEX knowledge_uses_completion ON knowledge_uses (completion_id)",
        ]),
    ]
}
