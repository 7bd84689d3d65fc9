//! The SQLite writer: one task owning the one connection that writes, with
//! group commit.
//!
//! SQLite allows one writer at a time, and a commit (an `fsync` of the WAL for
//! a file) costs far more than the statements before it. So every write is a
//! [`Command`] sent to this task through a bounded queue. The task takes
//! whatever is queued (up to [`MAX_BATCH`] commands), runs all of it in one
//! `BEGIN IMMEDIATE` ... `COMMIT`, and only then answers each command's
//! caller with its own result. A caller's write is therefore durable (as far
//! as `synchronous = NORMAL` goes) before its call returns, while N waiting
//! callers share one commit.
//!
//! Why one failing command does not poison the others:
//!
//! - Every command is a single statement, except the refresh-token rotation,
//!   which runs its two statements inside a `SAVEPOINT` and rolls back to it
//!   when the second one fails. (Consecutive `save_token` commands share
//!   multi-row `INSERT`s, one round trip to SQLite's thread for many tokens;
//!   SQLite undoes a failed statement as a whole, and its tokens are then
//!   stored one by one, see [`save_tokens`].)
//! - A statement that fails on a constraint (a duplicate hash, a username
//!   taken by another subject) is undone by SQLite on its own while the
//!   transaction stays open; errors found client-side (encoding, decoding a
//!   returned row) leave it untouched too. Such a command is answered with its
//!   error and the batch goes on ([`SqlError::is_statement_level`]).
//! - Any other error (I/O, disk full, busy, a failed `COMMIT`) may have
//!   rolled back the whole transaction. The batch is then abandoned: every
//!   caller of the batch gets the error, including those whose statement had
//!   succeeded (it was not committed), and the connection is replaced by a
//!   fresh one, so no half-known transaction state survives.
//!
//! A batch of nothing but new tokens (the common one under load) that fits
//! in one multi-row `INSERT` skips the explicit transaction: that statement
//! is atomic on its own. If it fails on a constraint, the batch takes the
//! transactional path above and its tokens are stored one by one.
//!
//! Commands of one batch were all waiting at once (none was answered before
//! another was sent), so running them in queue order is a valid order for
//! every caller.
//!
//! Atomicity of `take_code` and `rotate_refresh_token` comes from the
//! statements themselves (`DELETE ... RETURNING`, `UPDATE ... WHERE rotated =
//! FALSE` with its row count) and, on top, from this task running one command
//! at a time.
//!
//! The task ends when every [`WriterHandle`] is dropped, after it has run
//! everything still queued, or on [`WriterHandle::close`].

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use oauth_runtime::{
    CodeRecord, DeviceAuthorization, DeviceStatus, LoginSession, PushedRequest, Scope, TokenHash,
    TokenRecord, UserRecord,
};

use super::SqlError;
use super::rows::{AuthFailureRow, ClientRow, SigningKeyRow};
use super::sqlite::statements;

/// How many commands may wait for the writer before callers wait to enqueue.
const QUEUE: usize = 1024;

/// The most commands one transaction takes.
const MAX_BATCH: usize = 256;

/// Where a command's result goes.
type Reply<T> = oneshot::Sender<Result<T, SqlError>>;

/// A write, with the channel its result goes back on.
pub(super) enum Command {
    SaveToken(TokenRecord, Reply<()>),
    SaveCode(CodeRecord, Reply<()>),
    TakeCode(TokenHash, Reply<Option<CodeRecord>>),
    Rotate(TokenHash, TokenRecord, Reply<bool>),
    RevokeFamily(String, Reply<()>),
    UpsertClient(ClientRow, Reply<()>),
    UpsertUser(UserRecord, Reply<()>),
    Purge(i64, Reply<u64>),
    SaveSigningKey(SigningKeyRow, Reply<()>),
    SaveFirstSigningKey(SigningKeyRow, Reply<bool>),
    RetireSigningKey(String, i64, Reply<()>),
    SaveSecret(String, String, i64, Reply<()>),
    RecordAuthFailure(AuthFailureRow, Reply<Option<i64>>),
    UseDpopProof(TokenHash, i64, Reply<bool>),
    /// A new login session (boxed: it is large and rare), ending the previous one.
    StartSession(Box<NewSession>, Reply<()>),
    AddConsent(TokenHash, String, Scope, Reply<()>),
    EndSession(TokenHash, Reply<()>),
    SavePushed(PushedRequest, Reply<()>),
    TakePushed(TokenHash, String, Reply<Option<PushedRequest>>),
    RecordJti(TokenHash, i64, Reply<bool>),
    /// A new device authorization (boxed: it is large and rare).
    SaveDevice(Box<DeviceAuthorization>, Reply<()>),
    RecordDevicePoll(TokenHash, i64, i64, Reply<()>),
    DecideDevice(TokenHash, DeviceStatus, Reply<bool>),
    TakeDevice(TokenHash, String, Reply<Option<DeviceAuthorization>>),
}

/// What [`Command::StartSession`] stores.
pub(super) struct NewSession {
    pub(super) id: TokenHash,
    pub(super) session: LoginSession,
    pub(super) previous: Option<TokenHash>,
}

impl Command {
    /// Answers the command with `error` without running it.
    fn fail(self, error: SqlError) {
        // A caller that went away no longer wants the answer.
        let _ = match self {
            Self::SaveToken(_, reply)
            | Self::SaveCode(_, reply)
            | Self::RevokeFamily(_, reply)
            | Self::UpsertClient(_, reply)
            | Self::UpsertUser(_, reply)
            | Self::SaveSigningKey(_, reply)
            | Self::RetireSigningKey(_, _, reply)
            | Self::SaveSecret(_, _, _, reply)
            | Self::StartSession(_, reply)
            | Self::AddConsent(_, _, _, reply)
            | Self::EndSession(_, reply)
            | Self::SavePushed(_, reply)
            | Self::SaveDevice(_, reply)
            | Self::RecordDevicePoll(_, _, _, reply) => reply.send(Err(error)).is_ok(),
            Self::DecideDevice(_, _, reply) => reply.send(Err(error)).is_ok(),
            Self::TakeDevice(_, _, reply) => reply.send(Err(error)).is_ok(),
            Self::TakePushed(_, _, reply) => reply.send(Err(error)).is_ok(),
            Self::RecordJti(_, _, reply) => reply.send(Err(error)).is_ok(),
            Self::TakeCode(_, reply) => reply.send(Err(error)).is_ok(),
            Self::RecordAuthFailure(_, reply) => reply.send(Err(error)).is_ok(),
            Self::Rotate(_, _, reply)
            | Self::SaveFirstSigningKey(_, reply)
            | Self::UseDpopProof(_, _, reply) => reply.send(Err(error)).is_ok(),
            Self::Purge(_, reply) => reply.send(Err(error)).is_ok(),
        };
    }
}

/// What travels on the queue.
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every message is a write: boxing it would allocate for each"
)]
enum Message {
    Write(Command),
    /// Stop after what is queued before this; answer when the connection is closed.
    Close(oneshot::Sender<()>),
    /// Run a WAL checkpoint after this batch (see [`super::checkpoint`]),
    /// then answer.
    Checkpoint(oneshot::Sender<()>),
}

/// A command's result, held until its batch commits (or fails).
type Answer = Box<dyn FnOnce(Result<(), SqlError>) + Send>;

/// The sending side of the writer's queue.
#[derive(Debug, Clone)]
pub(super) struct WriterHandle {
    queue: mpsc::Sender<Message>,
}

impl WriterHandle {
    /// Starts the writer task on `connection`; `options` reopen it after a
    /// failed batch.
    pub(super) fn spawn(connection: SqliteConnection, options: SqliteConnectOptions) -> Self {
        let (queue, inbox) = mpsc::channel(QUEUE);
        let writer = Writer {
            connection: Some(connection),
            options,
            inbox,
        };
        tokio::spawn(writer.run());
        Self { queue }
    }

    /// Sends a command and waits until it is committed (or failed).
    pub(super) async fn call<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, SqlError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Message::Write(command(reply)))
            .await
            .map_err(|_| SqlError::Closed)?;
        answer.await.map_err(|_| SqlError::Closed)?
    }

    /// Asks the writer to run a WAL checkpoint between two batches, so that
    /// the WAL starts over, and waits until it ran. Skipped when the queue is
    /// full (the checkpointer asks again at its next tick).
    pub(super) async fn checkpoint(&self) {
        let (done, ran) = oneshot::channel();
        if self.queue.try_send(Message::Checkpoint(done)).is_ok() {
            // An error means the writer stopped.
            let _ = ran.await;
        }
    }

    /// Lets the writer finish what is queued, then closes its connection;
    /// later commands fail with [`SqlError::Closed`].
    pub(super) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.queue.send(Message::Close(done)).await.is_ok() {
            // An error means the writer already stopped.
            let _ = closed.await;
        }
    }
}

struct Writer {
    /// `None` only when reopening it after a failed batch failed; the next
    /// batch tries again.
    connection: Option<SqliteConnection>,
    options: SqliteConnectOptions,
    inbox: mpsc::Receiver<Message>,
}

impl Writer {
    async fn run(mut self) {
        let mut messages = Vec::with_capacity(MAX_BATCH);
        let mut writes = Vec::new();
        let mut closers = Vec::new();
        let mut checkpoints = Vec::new();
        // `recv_many` waits for one message, then takes what else is queued;
        // 0 means every handle is gone and the queue is empty.
        while self.inbox.recv_many(&mut messages, MAX_BATCH).await > 0 {
            // One yield lets the requests that are ready run up to their own
            // write first, so that they join this batch (fewer commits under
            // load); with nothing else ready it costs nothing.
            if messages.len() < MAX_BATCH {
                tokio::task::yield_now().await;
                let room = MAX_BATCH - messages.len();
                if room > 0 && !self.inbox.is_empty() {
                    self.inbox.recv_many(&mut messages, room).await;
                }
            }
            for message in messages.drain(..) {
                match message {
                    Message::Write(command) if closers.is_empty() => writes.push(command),
                    Message::Write(command) => command.fail(SqlError::Closed),
                    Message::Close(done) => closers.push(done),
                    Message::Checkpoint(done) => checkpoints.push(done),
                }
            }
            if !writes.is_empty() {
                self.commit(std::mem::take(&mut writes)).await;
            }
            if !checkpoints.is_empty() {
                self.checkpoint().await;
                for done in checkpoints.drain(..) {
                    let _ = done.send(());
                }
            }
            if !closers.is_empty() {
                self.inbox.close();
                while let Some(message) = self.inbox.recv().await {
                    match message {
                        Message::Write(command) => command.fail(SqlError::Closed),
                        Message::Close(done) => closers.push(done),
                        Message::Checkpoint(_) => {}
                    }
                }
                break;
            }
        }
        self.disconnect().await;
        for done in closers {
            let _ = done.send(());
        }
    }

    /// Runs `batch` in one transaction and answers every command.
    async fn commit(&mut self, batch: Vec<Command>) {
        let Some(batch) = self.insert_tokens_alone(batch).await else {
            return;
        };
        let connection = match self.connection().await {
            Ok(connection) => connection,
            Err(error) => {
                tracing::error!(%error, "cannot reopen the SQLite writer connection");
                batch.into_iter().for_each(|command| command.fail(error.clone()));
                return;
            }
        };
        let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
        let mut pending = batch.into_iter().peekable();
        let outcome: Result<(), SqlError> = async {
            let mut transaction = connection.begin_with("BEGIN IMMEDIATE").await?;
            while let Some(command) = pending.next() {
                let fatal = match command {
                    Command::SaveToken(token, reply) => {
                        let mut run = vec![(token, reply)];
                        while let Some(Command::SaveToken(token, reply)) =
                            pending.next_if(|next| matches!(next, Command::SaveToken(..)))
                        {
                            run.push((token, reply));
                        }
                        save_tokens(&mut transaction, run, &mut answers).await
                    }
                    command => {
                        let (answer, fatal) = apply(&mut transaction, command).await;
                        answers.push(answer);
                        fatal
                    }
                };
                if let Some(error) = fatal {
                    return Err(error);
                }
            }
            transaction.commit().await?;
            Ok(())
        }
        .await;
        if let Err(error) = &outcome {
            tracing::error!(%error, commands = answers.len() + pending.len(), "SQLite write batch failed");
            pending.for_each(|command| command.fail(error.clone()));
            self.replace_connection().await;
        }
        for answer in answers {
            answer(outcome.clone());
        }
    }

    /// The common batch under load, nothing but new tokens and few enough
    /// for one multi-row `INSERT`, needs no explicit transaction: that one
    /// statement is atomic on its own, and skipping `BEGIN` and `COMMIT`
    /// saves two of its three round trips to SQLite's thread. Answers the
    /// batch and returns `None`, or returns it untouched when it does not
    /// qualify or the `INSERT` failed on a constraint (having stored
    /// nothing), for [`Self::commit`] to store its tokens one by one.
    async fn insert_tokens_alone(&mut self, batch: Vec<Command>) -> Option<Vec<Command>> {
        if batch.len() > MAX_ROWS
            || !batch
                .iter()
                .all(|command| matches!(command, Command::SaveToken(..)))
        {
            return Some(batch);
        }
        let Ok(connection) = self.connection().await else {
            return Some(batch);
        };
        let tokens: Vec<&TokenRecord> = batch
            .iter()
            .filter_map(|command| match command {
                Command::SaveToken(token, _) => Some(token),
                _ => None,
            })
            .collect();
        let result = statements::insert_tokens(connection, &tokens).await;
        drop(tokens);
        match result {
            Err(error) if error.is_statement_level() => return Some(batch),
            Err(error) => {
                tracing::error!(%error, commands = batch.len(), "SQLite token insert failed");
                batch.into_iter().for_each(|command| command.fail(error.clone()));
                self.replace_connection().await;
            }
            Ok(()) => {
                for command in batch {
                    if let Command::SaveToken(_, reply) = command {
                        // A caller that went away no longer wants the answer.
                        let _ = reply.send(Ok(()));
                    }
                }
            }
        }
        None
    }

    /// A passive checkpoint on the writer's own connection: no write runs
    /// meanwhile, so it copies every frame a reader does not still need, and
    /// the next write starts the WAL over.
    async fn checkpoint(&mut self) {
        if let Some(connection) = self.connection.as_mut()
            && let Err(error) = super::checkpoint::passive(connection).await
        {
            tracing::warn!(%error, "SQLite WAL checkpoint on the writer failed");
        }
    }

    /// The writer connection, reopened if a failed batch dropped it.
    async fn connection(&mut self) -> Result<&mut SqliteConnection, SqlError> {
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => SqliteConnection::connect_with(&self.options).await?,
        };
        Ok(self.connection.insert(connection))
    }

    /// Swaps the connection for a fresh one after a failed batch, whose
    /// transaction state is unknown. The new one is opened before the old one
    /// closes: an in-memory database lives only while a connection to it is
    /// open. If it cannot be opened, the next batch tries again.
    async fn replace_connection(&mut self) {
        match SqliteConnection::connect_with(&self.options).await {
            Ok(fresh) => {
                if let Some(old) = self.connection.replace(fresh) {
                    // The old connection's transaction dies with it.
                    let _ = old.close().await;
                }
            }
            Err(error) => {
                tracing::error!(%error, "cannot reopen the SQLite writer connection");
                self.disconnect().await;
            }
        }
    }

    async fn disconnect(&mut self) {
        if let Some(connection) = self.connection.take()
            && let Err(error) = connection.close().await
        {
            tracing::warn!(%error, "closing the SQLite writer connection failed");
        }
    }
}

/// Runs one command inside the batch's transaction. Returns its answer and,
/// when its error may have ended the transaction, that error.
async fn apply(connection: &mut SqliteConnection, command: Command) -> (Answer, Option<SqlError>) {
    match command {
        Command::SaveToken(token, reply) => settle(reply, statements::save_token(connection, &token).await),
        Command::SaveCode(code, reply) => settle(reply, statements::save_code(connection, &code).await),
        Command::TakeCode(hash, reply) => settle(reply, statements::take_code(connection, &hash).await),
        Command::Rotate(old, new, reply) => settle(reply, statements::rotate(connection, &old, &new).await),
        Command::RevokeFamily(family, reply) => {
            settle(reply, statements::revoke_token_family(connection, &family).await)
        }
        Command::UpsertClient(row, reply) => settle(reply, statements::upsert_client(connection, &row).await),
        Command::UpsertUser(user, reply) => settle(reply, statements::upsert_user(connection, &user).await),
        Command::Purge(now, reply) => settle(reply, statements::purge(connection, now).await),
        Command::SaveSigningKey(row, reply) => {
            settle(reply, statements::insert_signing_key(connection, &row).await)
        }
        Command::SaveFirstSigningKey(row, reply) => settle(
            reply,
            statements::insert_first_signing_key(connection, &row).await,
        ),
        Command::RetireSigningKey(kid, now, reply) => {
            settle(reply, statements::retire_signing_key(connection, &kid, now).await)
        }
        Command::SaveSecret(name, value, now, reply) => settle(
            reply,
            statements::insert_secret(connection, &name, &value, now).await,
        ),
        Command::RecordAuthFailure(row, reply) => {
            settle(reply, statements::record_auth_failure(connection, &row).await)
        }
        Command::UseDpopProof(key, until, reply) => {
            settle(reply, statements::use_dpop_proof(connection, &key, until).await)
        }
        Command::StartSession(new, reply) => settle(reply, start_session(connection, &new).await),
        Command::AddConsent(id, client_id, scope, reply) => settle(
            reply,
            statements::sessions::insert_consent(connection, &id, &client_id, &scope).await,
        ),
        Command::EndSession(id, reply) => settle(reply, end_session(connection, &id).await),
        Command::SavePushed(request, reply) => settle(
            reply,
            statements::extensions::insert_pushed(connection, &request).await,
        ),
        Command::SaveDevice(device, reply) => {
            settle(reply, statements::device::insert(connection, &device).await)
        }
        Command::RecordDevicePoll(device_code, polled_at, interval, reply) => settle(
            reply,
            statements::device::record_poll(connection, &device_code, polled_at, interval).await,
        ),
        Command::DecideDevice(user_code, status, reply) => settle(
            reply,
            statements::device::decide(connection, &user_code, &status).await,
        ),
        Command::TakeDevice(device_code, client_id, reply) => settle(
            reply,
            statements::device::take(connection, &device_code, &client_id).await,
        ),
        Command::TakePushed(request_uri, client_id, reply) => settle(
            reply,
            statements::extensions::take_pushed(connection, &request_uri, &client_id).await,
        ),
        Command::RecordJti(jti, expires_at, reply) => settle(
            reply,
            statements::extensions::record_jti(connection, &jti, expires_at).await,
        ),
    }
}

/// Ends the previous session, then stores the new one (in the batch's transaction).
async fn start_session(connection: &mut SqliteConnection, new: &NewSession) -> Result<(), SqlError> {
    if let Some(previous) = &new.previous {
        end_session(&mut *connection, previous).await?;
    }
    statements::sessions::insert(&mut *connection, &new.id, &new.session).await
}

async fn end_session(connection: &mut SqliteConnection, id: &TokenHash) -> Result<(), SqlError> {
    statements::sessions::delete(&mut *connection, id).await?;
    statements::sessions::delete_consents(&mut *connection, id).await
}

/// The most tokens one `INSERT` stores.
const MAX_ROWS: usize = 64;

/// Stores a run of consecutive `save_token` commands with few statements
/// (each a round trip to SQLite's thread): multi-row `INSERT`s of
/// power-of-two sizes, so that only a handful of distinct statements are
/// prepared and cached. A multi-row `INSERT` that fails on a constraint has
/// stored none of its rows (SQLite undoes the statement); its tokens are
/// then stored one by one, so that only the offending token fails. Returns
/// the error that ends the batch, if one occurred.
async fn save_tokens(
    connection: &mut SqliteConnection,
    run: Vec<(TokenRecord, Reply<()>)>,
    answers: &mut Vec<Answer>,
) -> Option<SqlError> {
    let mut run = run.into_iter();
    let mut fatal: Option<SqlError> = None;
    while run.len() > 0 {
        let rows = MAX_ROWS.min(1 << run.len().ilog2());
        let chunk: Vec<(TokenRecord, Reply<()>)> = run.by_ref().take(rows).collect();
        let result = match &fatal {
            Some(error) => Err(error.clone()),
            None => {
                let tokens: Vec<&TokenRecord> = chunk.iter().map(|(token, _)| token).collect();
                statements::insert_tokens(&mut *connection, &tokens).await
            }
        };
        match result {
            Ok(()) => answers.extend(chunk.into_iter().map(|(_, reply)| settle(reply, Ok(())).0)),
            Err(error) if rows > 1 && fatal.is_none() && error.is_statement_level() => {
                for (token, reply) in chunk {
                    let result = match &fatal {
                        Some(error) => Err(error.clone()),
                        None => statements::save_token(&mut *connection, &token).await,
                    };
                    let (answer, error) = settle(reply, result);
                    answers.push(answer);
                    fatal = fatal.or(error);
                }
            }
            Err(error) => {
                for (_, reply) in chunk {
                    let (answer, error) = settle(reply, Err(error.clone()));
                    answers.push(answer);
                    fatal = fatal.or(error);
                }
            }
        }
    }
    fatal
}

/// Holds a command's result until the batch's outcome is known: the result if
/// the batch committed, the batch's error otherwise.
fn settle<T: Send + 'static>(reply: Reply<T>, result: Result<T, SqlError>) -> (Answer, Option<SqlError>) {
    let fatal = match &result {
        Err(error) if !error.is_statement_level() => Some(error.clone()),
        _ => None,
    };
    let answer: Answer = Box::new(move |batch: Result<(), SqlError>| {
        // A caller that went away no longer wants the answer.
        let _ = reply.send(batch.and(result));
    });
    (answer, fatal)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use oauth_runtime::Scope;

    use super::*;
    use crate::sql::migrations;

    /// A writer on a fresh shared in-memory database, not yet running, so
    /// that what the test queues first is taken as one batch; plus a second
    /// connection to the same database.
    async fn writer() -> (mpsc::Sender<Message>, Writer, SqliteConnection) {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").unwrap();
        let mut connection = SqliteConnection::connect_with(&options).await.unwrap();
        migrations::migrator(migrations::SQLITE)
            .run(&mut connection)
            .await
            .unwrap();
        let other = SqliteConnection::connect_with(&options).await.unwrap();
        let (queue, inbox) = mpsc::channel(QUEUE);
        let writer = Writer {
            connection: Some(connection),
            options,
            inbox,
        };
        (queue, writer, other)
    }

    fn token(n: u8) -> TokenRecord {
        TokenRecord {
            access_token: TokenHash::from_bytes([n; 32]),
            refresh_token: None,
            client_id: "c".into(),
            subject: None,
            scope: Scope::empty(),
            family: "f".into(),
            issued_at: 0,
            expires_at: 1,
            refresh_expires_at: None,
            rotated: false,
            refresh_scope: None,
            jkt: None,
        }
    }

    fn save(queue: &mpsc::Sender<Message>, token: TokenRecord) -> oneshot::Receiver<Result<(), SqlError>> {
        let (reply, answer) = oneshot::channel();
        queue
            .try_send(Message::Write(Command::SaveToken(token, reply)))
            .unwrap();
        answer
    }

    async fn stored(other: &mut SqliteConnection, n: u8) -> bool {
        statements::access_token(&mut *other, &TokenHash::from_bytes([n; 32]))
            .await
            .unwrap()
            .is_some()
    }

    #[tokio::test]
    async fn a_constraint_violation_fails_alone_within_its_batch() {
        let (queue, writer, mut other) = writer().await;
        let first = save(&queue, token(1));
        let duplicate = save(&queue, token(1));
        let second = save(&queue, token(2));
        tokio::spawn(writer.run());
        first.await.unwrap().unwrap();
        let error = duplicate.await.unwrap().unwrap_err();
        assert!(error.is_statement_level(), "{error}");
        second.await.unwrap().unwrap();
        assert!(stored(&mut other, 1).await);
        assert!(stored(&mut other, 2).await);
    }

    #[tokio::test]
    async fn batches_of_tokens_alone_are_stored_with_or_without_a_transaction() {
        let (queue, writer, mut other) = writer().await;
        // 70 tokens: more than one INSERT holds, so this batch takes the
        // transactional path; the next, smaller ones the single INSERT.
        let big: Vec<_> = (1..=70).map(|n| save(&queue, token(n))).collect();
        tokio::spawn(writer.run());
        for answer in big {
            answer.await.unwrap().unwrap();
        }
        for n in [100, 101] {
            save(&queue, token(n)).await.unwrap().unwrap();
        }
        for n in (1..=70).chain([100, 101]) {
            assert!(stored(&mut other, n).await, "token {n}");
        }
    }

    #[tokio::test]
    async fn a_fatal_error_fails_a_batch_of_tokens_alone_then_the_writer_recovers() {
        let (queue, writer, mut other) = writer().await;
        sqlx::query("ALTER TABLE tokens RENAME TO tokens_away")
            .execute(&mut other)
            .await
            .unwrap();
        let answers: Vec<_> = (1..=3).map(|n| save(&queue, token(n))).collect();
        tokio::spawn(writer.run());
        for answer in answers {
            let error = answer.await.unwrap().unwrap_err();
            assert!(!error.is_statement_level(), "{error}");
        }
        sqlx::query("ALTER TABLE tokens_away RENAME TO tokens")
            .execute(&mut other)
            .await
            .unwrap();
        save(&queue, token(4)).await.unwrap().unwrap();
        assert!(stored(&mut other, 4).await);
        assert!(!stored(&mut other, 1).await);
    }

    #[tokio::test]
    async fn a_duplicate_in_a_multi_row_insert_fails_alone() {
        let (queue, writer, mut other) = writer().await;
        statements::save_token(&mut other, &token(200)).await.unwrap();
        let answers: Vec<_> = (1..=40)
            .map(|n| {
                let duplicate = n == 7 || n == 33 || n == 40;
                (duplicate, n, save(&queue, token(if duplicate { 200 } else { n })))
            })
            .collect();
        tokio::spawn(writer.run());
        for (duplicate, n, answer) in answers {
            let result = answer.await.unwrap();
            if duplicate {
                assert!(result.unwrap_err().is_statement_level());
            } else {
                result.unwrap();
                assert!(stored(&mut other, n).await, "token {n}");
            }
        }
    }

    #[tokio::test]
    async fn a_fatal_error_fails_the_whole_batch_then_the_writer_recovers() {
        let (queue, writer, mut other) = writer().await;
        sqlx::query("DROP TABLE codes").execute(&mut other).await.unwrap();
        let before = save(&queue, token(1));
        let (reply, failing) = oneshot::channel();
        let code = CodeRecord {
            code: TokenHash::from_bytes([9; 32]),
            client_id: "c".into(),
            redirect_uri: None,
            scope: Scope::empty(),
            subject: "s".into(),
            code_challenge: None,
            code_challenge_method: None,
            nonce: None,
            auth_time: None,
            expires_at: 1,
        };
        queue
            .try_send(Message::Write(Command::SaveCode(code, reply)))
            .unwrap();
        let after = save(&queue, token(2));
        tokio::spawn(writer.run());
        let error = failing.await.unwrap().unwrap_err();
        assert!(!error.is_statement_level(), "{error}");
        // Every caller of the batch hears of the failure, and nothing of it
        // was committed, not even the write that ran before the failure.
        assert!(before.await.unwrap().is_err());
        assert!(after.await.unwrap().is_err());
        assert!(!stored(&mut other, 1).await);
        assert!(!stored(&mut other, 2).await);
        // The next batch runs on a fresh connection.
        save(&queue, token(3)).await.unwrap().unwrap();
        assert!(stored(&mut other, 3).await);
    }

    #[tokio::test]
    async fn close_commits_what_came_before_and_refuses_what_comes_after() {
        let (queue, writer, mut other) = writer().await;
        let before = save(&queue, token(1));
        let (done, closed) = oneshot::channel();
        queue.try_send(Message::Close(done)).unwrap();
        let after = save(&queue, token(2));
        let task = tokio::spawn(writer.run());
        before.await.unwrap().unwrap();
        assert!(matches!(after.await.unwrap(), Err(SqlError::Closed)));
        closed.await.unwrap();
        task.await.unwrap();
        assert!(stored(&mut other, 1).await);
        assert!(!stored(&mut other, 2).await);
        assert!(queue.send(Message::Close(oneshot::channel().0)).await.is_err());
    }

    #[tokio::test]
    async fn dropping_every_handle_drains_the_queue_then_stops() {
        let (queue, writer, mut other) = writer().await;
        let answers: Vec<_> = (1..=5).map(|n| save(&queue, token(n))).collect();
        drop(queue);
        tokio::spawn(writer.run()).await.unwrap();
        for answer in answers {
            answer.await.unwrap().unwrap();
        }
        for n in 1..=5 {
            assert!(stored(&mut other, n).await);
        }
    }
}
