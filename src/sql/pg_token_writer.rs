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
//! returns, as with its own `INSERT`. While a batch is stored the next one
//! gathers: the more requests wait, the more tokens share a commit.
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

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use oauth_runtime::TokenRecord;

use super::SqlError;

/// The most tokens one statement stores.
const MAX_BATCH: usize = 256;

/// How many batches may be stored at once. One: measured on two cores with
/// PostgreSQL beside the servers, a second batch in flight halved the batch
/// size and raised PostgreSQL's CPU per token by half (each statement has a
/// fixed cost), for fewer tokens a second in all.
const IN_FLIGHT: usize = 1;

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
    reason = "nearly every message is a token: boxing it would allocate for each"
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
    let mut in_flight = JoinSet::new();
    // Connections that finished a batch, kept for the next while tokens keep
    // coming (see `Held`).
    let mut spare: Vec<Held> = Vec::with_capacity(IN_FLIGHT);
    loop {
        // Take back the connections of the batches that are done; at the
        // limit, wait for one, while the queue gathers the next batch.
        while let Some(done) = in_flight.try_join_next() {
            spare.extend(done.ok().flatten());
        }
        if in_flight.len() >= IN_FLIGHT {
            if let Some(done) = in_flight.join_next().await {
                spare.extend(done.ok().flatten());
            }
            continue;
        }
        if inbox.is_empty() {
            // A lull: the connections go back to the pool, which checks them
            // before their next use.
            spare.clear();
        }
        // `recv_many` waits for one message, then takes what else is queued;
        // 0 means every handle is gone and the queue is empty.
        if inbox.recv_many(&mut messages, MAX_BATCH).await == 0 {
            break;
        }
        // One yield lets the requests that are ready run up to their own
        // save first, so that they join this batch; with nothing else ready it
        // costs nothing.
        if messages.len() < MAX_BATCH {
            tokio::task::yield_now().await;
            let room = MAX_BATCH - messages.len();
            if !inbox.is_empty() {
                inbox.recv_many(&mut messages, room).await;
            }
        }
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
            in_flight.spawn(store(pool.clone(), spare.pop(), std::mem::take(&mut batch)));
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
    // Everything accepted is answered before the store counts as closed, and
    // every connection is back in the pool before it closes.
    while in_flight.join_next().await.is_some() {}
    drop(spare);
    for done in closers {
        let _ = done.send(());
    }
}

/// A connection taken from the pool for a batch. Under load it goes straight
/// on to the next batch: a connection that has just answered needs no check,
/// and the pool pings every connection it hands out (a round trip that would
/// otherwise lengthen every batch).
type Held = PoolConnection<Postgres>;

/// Stores a batch on `held` (or a connection from the pool), answers every
/// caller (a caller that went away no longer wants the answer), and returns
/// the connection unless an error left it in doubt.
async fn store(pool: PgPool, held: Option<Held>, batch: Vec<(TokenRecord, Reply)>) -> Option<Held> {
    let mut connection = match held {
        Some(connection) => connection,
        None => match pool.acquire().await {
            Ok(connection) => connection,
            Err(error) => {
                let error = SqlError::from(error);
                for (_, reply) in batch {
                    let _ = reply.send(Err(error.clone()));
                }
                return None;
            }
        },
    };
    let result = {
        let tokens: Vec<&TokenRecord> = batch.iter().map(|(token, _)| token).collect();
        insert(&mut connection, &tokens).await
    };
    let mut broken = false;
    match result {
        Err(error) if batch.len() > 1 && error.is_statement_level() => {
            for (token, reply) in batch {
                let result = insert(&mut connection, &[&token]).await;
                if let Err(error) = &result
                    && !error.is_statement_level()
                {
                    broken = true;
                }
                let _ = reply.send(result);
            }
        }
        result => {
            if result.as_ref().is_err_and(|error| !error.is_statement_level()) {
                broken = true;
            }
            for (_, reply) in batch {
                let _ = reply.send(result.clone());
            }
        }
    }
    if broken {
        // The connection may be broken: it is closed, not reused.
        connection.close_on_drop();
        return None;
    }
    Some(connection)
}

/// One statement for all of `tokens`.
async fn insert(connection: &mut PgConnection, tokens: &[&TokenRecord]) -> Result<(), SqlError> {
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
        .execute(connection)
        .await?;
    Ok(())
}
