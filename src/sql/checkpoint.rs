//! WAL checkpoints off the writer's path.
//!
//! In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies
//! them back into the database and syncs both files. By default SQLite runs
//! that checkpoint inside the commit that pushes the WAL past 1,000 pages, so
//! on a file database the writer (and every request waiting on its batch)
//! stalled for the copy and two `fsync`s a few times a second under load:
//! that was the p99 of the SQLite file benchmark.
//!
//! So the writer's connection runs with `wal_autocheckpoint = 0`, and this
//! task, on a connection (and therefore a thread) of its own, runs a
//! `PASSIVE` checkpoint every [`Policy::interval`]: it copies what is
//! committed while the writer goes on. A passive checkpoint never resets the
//! WAL, though: only a writer starting its transaction while every frame is
//! copied does, and under steady load the writer always has frames the
//! checkpointer has not reached yet. When the WAL holds more than
//! [`Policy::restart_frames`] frames, the task therefore asks the writer to
//! run one checkpoint itself between two batches. Nearly all frames are
//! copied by then, so that checkpoint is short, and the next write starts
//! the WAL over, which keeps the file bounded.

use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, SqliteConnection};
use tokio::sync::oneshot;

use super::SqlError;
use super::writer::WriterHandle;

/// When and how much to checkpoint.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    /// Time between two passive checkpoints. Short, so that each copies
    /// little and the writer's own checkpoint finds little left to copy; on
    /// a server with one core, also the longest the copy holds the core.
    /// (10 ms: against 20 ms, the p99 fell by about a quarter for a few
    /// percent of throughput; 5 ms cut it further but cost about a tenth of
    /// the throughput: BENCHMARKS.md.)
    pub(super) interval: Duration,
    /// WAL frames above which the writer is asked to checkpoint, so that the
    /// WAL starts over (4 KiB pages: 32,768 frames are 128 MiB, the most the
    /// `-wal` file grows to under load).
    pub(super) restart_frames: i64,
    /// What a WAL file is cut back to when it starts over
    /// (`journal_size_limit`), so that a burst that outran the checkpoints
    /// does not leave it large. Twice the restart size: cutting the file at
    /// every restart, and growing it again, made the p99 five times worse.
    pub(super) kept_bytes: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(10),
            restart_frames: 32_768,
            kept_bytes: 256 << 20,
        }
    }
}

/// Runs `PRAGMA wal_checkpoint(PASSIVE)`; returns the frames in the WAL
/// (`-1` when the database is not in WAL mode).
pub(super) async fn passive(connection: &mut SqliteConnection) -> Result<i64, SqlError> {
    let (_busy, frames, _copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *connection)
        .await?;
    Ok(frames)
}

/// Owns the checkpointer task: dropping it stops the task at its next tick.
#[derive(Debug)]
pub(super) struct Checkpointer {
    /// Taken by the first [`Self::close`].
    stop: std::sync::Mutex<Option<oneshot::Sender<oneshot::Sender<()>>>>,
}

impl Checkpointer {
    /// Opens a connection of its own with `options` and starts the task.
    pub(super) async fn spawn(
        options: &SqliteConnectOptions,
        writer: WriterHandle,
        policy: Policy,
    ) -> Result<Self, SqlError> {
        let connection = SqliteConnection::connect_with(options).await?;
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(run(connection, writer, policy, stopped));
        Ok(Self {
            stop: std::sync::Mutex::new(Some(stop)),
        })
    }

    /// Stops the task and waits until its connection is closed.
    pub(super) async fn close(&self) {
        // A poisoned lock still holds the sender: nothing panics while holding it.
        let stop = match self.stop.lock() {
            Ok(mut stop) => stop.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(stop) = stop {
            let (done, closed) = oneshot::channel();
            if stop.send(done).is_ok() {
                // An error means the task already ended.
                let _ = closed.await;
            }
        }
    }
}

async fn run(
    mut connection: SqliteConnection,
    writer: WriterHandle,
    policy: Policy,
    mut stop: oneshot::Receiver<oneshot::Sender<()>>,
) {
    let mut ticks = tokio::time::interval(policy.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let done = loop {
        tokio::select! {
            // `Err`: the owner was dropped without `close`.
            stopped = &mut stop => break stopped.ok(),
            _ = ticks.tick() => {}
        }
        match passive(&mut connection).await {
            Ok(frames) if frames > policy.restart_frames => {
                // Waiting for it keeps the two checkpoints apart: SQLite runs
                // one at a time, and the writer's would fail while this one runs.
                writer.checkpoint().await;
                // A whole interval before the next one: a tick due at once
                // would find the WAL not yet started over (the writer does
                // that at its next write) and ask the writer again.
                ticks.reset();
            }
            Ok(_) => {}
            // A lock held elsewhere or an I/O hiccup: the next tick tries
            // again, and the writer checkpoints when asked whatever this missed.
            Err(error) => tracing::warn!(%error, "SQLite WAL checkpoint failed"),
        }
    };
    if let Err(error) = connection.close().await {
        tracing::warn!(%error, "closing the SQLite checkpoint connection failed");
    }
    if let Some(done) = done {
        let _ = done.send(());
    }
}

#[cfg(test)]
mod tests {
    use oauth_runtime::{Scope, TokenHash, TokenRecord};

    use super::*;
    use crate::sql::sqlite::SqliteBackend;

    fn token(n: u32) -> TokenRecord {
        let mut hash = [0; 32];
        hash[..4].copy_from_slice(&n.to_be_bytes());
        TokenRecord {
            access_token: TokenHash::from_bytes(hash),
            refresh_token: None,
            client_id: "c".into(),
            subject: None,
            scope: Scope::empty(),
            family: format!("family-{n}"),
            issued_at: 0,
            expires_at: i64::MAX,
            refresh_expires_at: None,
            rotated: false,
            refresh_scope: None,
            jkt: None,
        }
    }

    fn database(name: &str) -> (std::path::PathBuf, String) {
        let path = std::env::temp_dir().join(format!("granted-{name}-{}.db", std::process::id()));
        let url = format!("sqlite://{}", path.display());
        (path, url)
    }

    fn size(path: &std::path::Path, suffix: &str) -> u64 {
        std::fs::metadata(format!("{}{suffix}", path.display())).map_or(0, |file| file.len())
    }

    fn remove(path: &std::path::Path) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// The writer never checkpoints on its own (`wal_autocheckpoint = 0`),
    /// and does when asked, after which the next writes start the WAL over.
    /// Seen from the files (a checkpoint copies pages into the database; a
    /// WAL that starts over is written again from its beginning), since
    /// asking SQLite would run a checkpoint.
    #[tokio::test]
    async fn the_writer_checkpoints_only_when_asked() {
        let (path, url) = database("writer-checkpoint");
        // The first tick comes at once; the next in an hour.
        let policy = Policy {
            interval: Duration::from_secs(3600),
            restart_frames: i64::MAX,
            kept_bytes: u64::MAX >> 1,
        };
        let backend = SqliteBackend::connect_with_checkpoints(&url, policy)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let database_before = size(&path, "");
        for n in 0..1000 {
            backend.save_token(token(n)).await.unwrap();
        }
        let wal = size(&path, "-wal");
        assert_eq!(
            size(&path, ""),
            database_before,
            "the writer checkpointed on its own"
        );
        assert!(
            wal > 1000 * 4096,
            "a WAL of {wal} bytes for 1,000 commits: it started over"
        );

        backend.writer.checkpoint().await;
        backend.save_token(token(1000)).await.unwrap();
        assert!(size(&path, "") > database_before, "no checkpoint when asked");
        for n in 1001..2000 {
            backend.save_token(token(n)).await.unwrap();
        }
        let wal_after = size(&path, "-wal");
        assert!(
            wal_after < wal + wal / 5,
            "the WAL grew from {wal} to {wal_after} bytes: it did not start over"
        );

        backend.close().await;
        remove(&path);
    }

    /// Under writes, the checkpointer gets the WAL started over, although the
    /// writer never checkpoints on its own: once writes slow down the WAL is
    /// cut back to `kept_bytes`. (How far it grows meanwhile depends on the
    /// disk: it grows while a checkpoint waits for its `fsync`.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_starts_the_wal_over() {
        let (path, url) = database("checkpointer");
        let policy = Policy {
            interval: Duration::from_millis(2),
            restart_frames: 40,
            kept_bytes: 64 * 4096,
        };
        let backend = SqliteBackend::connect_with_checkpoints(&url, policy)
            .await
            .unwrap();
        for n in 0..3000 {
            backend.save_token(token(n)).await.unwrap();
        }
        // Without restarts, some 12,000 frames (48 MiB).
        let grown = size(&path, "-wal");
        // A write now and then, as the checkpointer catches up.
        let mut wal = grown;
        for n in 3000..3500 {
            backend.save_token(token(n)).await.unwrap();
            wal = size(&path, "-wal");
            if wal <= policy.kept_bytes {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            wal <= policy.kept_bytes,
            "the WAL is still {wal} bytes (it grew to {grown}): it never started over"
        );
        assert!(
            backend
                .access_token(&token(2999).access_token)
                .await
                .unwrap()
                .is_some()
        );

        backend.close().await;
        remove(&path);
    }
}
