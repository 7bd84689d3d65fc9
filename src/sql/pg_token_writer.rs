//! Group commit for new tokens on PostgreSQL.
//!
//! Issuing a token is the one write of every token request, and one
//! autocommit `INSERT` per token pays a full statement and a commit each
//! (parse, plan, the tombstone check, four index updates, a WAL flush). So
//! [`PostgresBackend::save_token`](super::postgres) does not run its own
//! statement: it queues the token for this task, which takes whatever is
//! queued (up to [`MAX_BATCH`] tokens) and stores it with one `INSERT ...
//! SELECT FROM UNNEST(...)`, one prepared statement whatever the batch size,
//! then answers each caller. A caller's token is committed before its call
//! returns, as with its own `INSERT`; while one batch runs, the next one
//! gathers, so the more requests wait, the fewer commits they share.
//!
//! The statement keeps the single `INSERT`'s rules: a token of a family
//! revoked before it is skipped (the `NOT EXISTS` on `revoked_families`, per
//! row), and a revocation, which locks `tokens` against writers, waits for a
//! running batch or holds the next one exactly as it would a lone `INSERT`.
//!
//! One token cannot fail the others: a batch that breaks a constraint (a
//! duplicate hash) stored none of its rows, and its tokens are then stored
//! one by one, so that only the offending one gets the error. Any other error
//! (the database down, a time-out) is every caller's answer: nothing of the
//! batch was stored.
//!
//! Each instance has its own task; instances sharing a database need nothing
//! from each other here, as every row is an independent insert.

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use oauth_runtime::TokenRecord;

use super::SqlError;

/// The most tokens one statement stores.
const MAX_BATCH: usize = 256;

/// How many tokens may wait before callers wait to enqueue.
const QUEUE: usize = 4096;

/// Stores the tokens given as arrays, one array per column, skipping those of
/// a revoked family.
const INSERT_TOKENS: &str = concat!(
    "INSERT INTO tokens (",
    super::rows::token_columns!(),
    ") SELECT * FROM UNNEST(",
    "$1::bytea[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[], ",
    "$7::int8[], $8::int8[], $9::int8[], $10::bool[], $11::text[], $12::text[]",
    ") AS new (",
    super::rows::token_columns!(),
    ") WHERE NOT EXISTS (SELECT 1 FROM revoked_families WHERE revoked_families.family = new.family)"
);

type Reply = oneshot::Sender<Result<(), SqlError>>;

#[allow(
    clippy::large_enum_variant,
    reason = "nearly every message is a token to save: boxing it would allocate for each"
)]
enum Message {
    Save(TokenRecord, Reply),
    /// Stop after what is queued before this; answer once stopped.
    Close(oneshot::Sender<()>),
}

/// The sending side of the token writer's queue.
#[derive(Debug, Clone)]
pub(super) struct TokenWriter {
    queue: mpsc::Sender<Message>,
}

impl TokenWriter {
    /// Starts the task storing tokens through `pool`.
    pub(super) fn spawn(pool: PgPool) -> Self {
        let (queue, inbox) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, inbox));
        Self { queue }
    }

    /// Stores `token` with the next batch; returns once it is committed.
    pub(super) async fn save(&self, token: TokenRecord) -> Result<(), SqlError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Message::Save(token, reply))
            .await
            .map_err(|_| SqlError::Closed)?;
        answer.await.map_err(|_| SqlError::Closed)?
    }

    /// Lets the task store what is queued, then stops it; later calls fail
    /// with [`SqlError::Closed`].
    pub(super) async fn close(&self) {
        let (done, stopped) = oneshot::channel();
        if self.queue.send(Message::Close(done)).await.is_ok() {
            // An error means the task already stopped.
            let _ = stopped.await;
        }
    }
}

async fn run(pool: PgPool, mut inbox: mpsc::Receiver<Message>) {
    let mut messages = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut closers = Vec::new();
    // `recv_many` waits for one message, then takes what else is queued; 0
    // means every handle is gone and the queue is empty.
    while inbox.recv_many(&mut messages, MAX_BATCH).await > 0 {
        for message in messages.drain(..) {
            match message {
                Message::Save(token, reply) if closers.is_empty() => batch.push((token, reply)),
                Message::Save(_, reply) => {
                    let _ = reply.send(Err(SqlError::Closed));
                }
                Message::Close(done) => closers.push(done),
            }
        }
        if !batch.is_empty() {
            store(&pool, std::mem::take(&mut batch)).await;
        }
        if !closers.is_empty() {
            inbox.close();
            while let Some(message) = inbox.recv().await {
                match message {
                    Message::Save(_, reply) => {
                        let _ = reply.send(Err(SqlError::Closed));
                    }
                    Message::Close(done) => closers.push(done),
                }
            }
            break;
        }
    }
    for done in closers {
        let _ = done.send(());
    }
}

/// Stores a batch and answers every caller (a caller that went away no
/// longer wants the answer).
async fn store(pool: &PgPool, batch: Vec<(TokenRecord, Reply)>) {
    let result = {
        let tokens: Vec<&TokenRecord> = batch.iter().map(|(token, _)| token).collect();
        insert(pool, &tokens).await
    };
    match result {
        Err(error) if batch.len() > 1 && error.is_statement_level() => {
            for (token, reply) in batch {
                let _ = reply.send(insert(pool, &[&token]).await);
            }
        }
        result => {
            for (_, reply) in batch {
                let _ = reply.send(result.clone());
            }
        }
    }
}

/// One statement for all of `tokens`.
async fn insert(pool: &PgPool, tokens: &[&TokenRecord]) -> Result<(), SqlError> {
    let scopes: Vec<String> = tokens.iter().map(|t| t.scope.to_string()).collect();
    let refresh_scopes: Vec<Option<String>> = tokens
        .iter()
        .map(|t| t.refresh_scope.as_ref().map(ToString::to_string))
        .collect();
    sqlx::query(INSERT_TOKENS)
        .bind(
            tokens
                .iter()
                .map(|t| t.access_token.as_bytes().as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(
            tokens
                .iter()
                .map(|t| t.refresh_token.as_ref().map(|hash| hash.as_bytes().as_slice()))
                .collect::<Vec<_>>(),
        )
        .bind(tokens.iter().map(|t| t.client_id.as_str()).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.subject.as_deref()).collect::<Vec<_>>())
        .bind(scopes)
        .bind(tokens.iter().map(|t| t.family.as_str()).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.issued_at).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.expires_at).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.refresh_expires_at).collect::<Vec<_>>())
        .bind(tokens.iter().map(|t| t.rotated).collect::<Vec<_>>())
        .bind(refresh_scopes)
        .bind(tokens.iter().map(|t| t.jkt.as_deref()).collect::<Vec<_>>())
        .execute(pool)
        .await?;
    Ok(())
}
