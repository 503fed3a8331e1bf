//! Seed 002's persistent failure and cooldown policy: 3 failed sessions ("strikes") per user
//! key, then a 15-minute cooldown; cooldowns after strikes 3 and 6; strike 9 is terminal and
//! writes a FINAL_FAILURE record; a success clears the counters. State lives in Redis when
//! `REDIS_URL` is set (servers behind one load balancer share it), in memory otherwise. A
//! session's strike is reserved when it starts and cleared only by a verdict that passes; only
//! users named by a relying party can reach FINAL_FAILURE.
//! Every call takes the time, so tests control it.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicySettings {
    /// Failures per round (seed 002: 3).
    pub attempts: u32,
    /// Cooldown after a failed round, ms (seed 002: 15 minutes).
    pub cooldown_ms: u64,
    /// Rounds; failing the last one is terminal (seed 002: 3).
    pub rounds: u32,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings { attempts: 3, cooldown_ms: 15 * 60 * 1000, rounds: 3 }
    }
}

/// The counters of one user key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempts {
    pub strikes: u32,
    pub cooldown_until_ms: u64,
    pub final_failure_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed { attempts_left: u32 },
    Cooldown { until_ms: u64 },
    FinalFailure,
}

/// Why a session may not start now, for the client or the relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: crate::errors::ErrorCode,
    pub detail: &'static str,
    /// When to try again (a cooldown), in ms from now.
    pub retry_after_ms: Option<u64>,
}

impl Decision {
    /// The refusal this decision means at `now_ms`, unless the session is allowed.
    pub fn refusal(self, now_ms: u64) -> Option<Refusal> {
        use crate::errors::ErrorCode;
        match self {
            Decision::Allowed { .. } => None,
            Decision::Cooldown { until_ms } => Some(Refusal {
                code: ErrorCode::Cooldown,
                detail: "too many sessions that did not pass: wait for the cooldown",
                retry_after_ms: Some(until_ms.saturating_sub(now_ms)),
            }),
            Decision::FinalFailure => Some(Refusal {
                code: ErrorCode::FinalFailure,
                detail: "FINAL_FAILURE is recorded for this user",
                retry_after_ms: None,
            }),
        }
    }
}

impl Attempts {
    pub fn decide(&self, now_ms: u64, s: &PolicySettings) -> Decision {
        if self.final_failure_at_ms.is_some() {
            Decision::FinalFailure
        } else if now_ms < self.cooldown_until_ms {
            Decision::Cooldown { until_ms: self.cooldown_until_ms }
        } else {
            Decision::Allowed { attempts_left: s.attempts - self.strikes % s.attempts.max(1) }
        }
    }

    /// Whether the strikes end a round: the next session waits for the cooldown.
    fn at_round_end(&self, s: &PolicySettings) -> bool {
        self.strikes > 0 && self.strikes.is_multiple_of(s.attempts.max(1))
    }

    /// A session starts: its strike is counted now (parallel sessions count each) and only a
    /// verdict that passes clears it. The strike that ends a round starts the cooldown, so
    /// that no further session starts while this one runs.
    pub fn reserve(&mut self, now_ms: u64, s: &PolicySettings) {
        self.strikes += 1;
        if self.at_round_end(s) {
            self.cooldown_until_ms = now_ms + s.cooldown_ms;
        }
    }

    /// A session that reserved its strike ended without passing. The cooldown of a round it
    /// ended counts from now; when `terminal` (a relying party's user) and the rounds are
    /// used up, FINAL_FAILURE is set. Returns true when it was.
    pub fn fail(&mut self, now_ms: u64, s: &PolicySettings, terminal: bool) -> bool {
        if self.final_failure_at_ms.is_some() {
            return false;
        }
        if self.at_round_end(s) {
            self.cooldown_until_ms = self.cooldown_until_ms.max(now_ms + s.cooldown_ms);
        }
        if terminal && self.strikes >= s.attempts * s.rounds {
            self.final_failure_at_ms = Some(now_ms);
            return true;
        }
        false
    }

    /// Gives back a reserved strike: the server ended the session (shutdown), not the user.
    pub fn unreserve(&mut self, s: &PolicySettings) {
        if self.strikes == 0 || self.final_failure_at_ms.is_some() {
            return;
        }
        if self.at_round_end(s) {
            self.cooldown_until_ms = 0;
        }
        self.strikes -= 1;
    }
}

/// Policy keys of users named by a relying party (`rp:<party>:<reference>`); only they can
/// reach FINAL_FAILURE. Anonymous sessions are counted by address (`address:<ip>`), which
/// stands for everyone behind it: its rounds cool down but never end for good.
pub fn is_relying_party_key(key: &str) -> bool {
    key.starts_with("rp:")
}

/// The FINAL_FAILURE record written at the terminal strike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalFailure {
    pub status: String,
    pub key: String,
    pub strikes: u32,
    pub at_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("stored attempts are not readable: {0}")]
    Corrupt(String),
    #[error("the attempts of one key changed {CAS_RETRIES} times while being updated")]
    Contended,
}

/// The memory store's maps (one process, no `REDIS_URL`).
#[derive(Default)]
pub struct MemoryStore {
    attempts: Mutex<HashMap<String, Attempts>>,
    finals: Mutex<HashMap<String, FinalFailure>>,
    /// Records of [`PolicyStore::put_record`] and [`PolicyStore::claim_record`] (live
    /// sessions, session ids) with their expiry.
    records: Mutex<HashMap<String, (String, std::time::Instant)>>,
}

/// Locks a map of the memory store; a panic elsewhere leaves the map usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where the counters live.
pub enum PolicyStore {
    Memory(Box<MemoryStore>),
    /// A connection that reconnects by itself (with backoff) when Redis restarts.
    Redis(redis::aio::ConnectionManager),
}

/// How long one Redis command may take before it counts as failed.
const REDIS_RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// Longest wait between two reconnection attempts.
const REDIS_MAX_BACKOFF: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs a Redis command; a command lost with its connection (Redis restarted) is sent again
/// once, on the connection the manager makes anew.
async fn with_reconnect<T, F, Fut>(connection: &redis::aio::ConnectionManager, command: F) -> redis::RedisResult<T>
where
    F: Fn(redis::aio::ConnectionManager) -> Fut,
    Fut: std::future::Future<Output = redis::RedisResult<T>>,
{
    let result = match command(connection.clone()).await {
        Err(err) if err.is_io_error() || err.is_connection_dropped() || err.is_unrecoverable_error() => {
            command(connection.clone()).await
        }
        result => result,
    };
    if result.is_err() {
        crate::metrics::REDIS_ERRORS.inc();
    }
    result
}

/// Redis keys hold the user key hex-encoded: no character of it can reach another key.
fn redis_key(kind: &str, key: &str) -> String {
    gstliveness::store::hex_key(&format!("lpserver:{kind}"), key)
}

/// Deletes KEYS[1] when it holds ARGV[1]: a claim is released by its owner only.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Counters expire this long after the last change (a FINAL_FAILURE record never does).
const ATTEMPTS_TTL_MS: u64 = 7 * 24 * 3600 * 1000;

/// Writers racing on one key retry this often before giving up.
const CAS_RETRIES: usize = 100;

/// Writes the new state only if nobody changed it since it was read (version check).
const CAS_SCRIPT: &str = r"
local current = redis.call('HGET', KEYS[1], 'version') or '0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'state', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
";

impl PolicyStore {
    pub fn memory() -> PolicyStore {
        PolicyStore::Memory(Box::default())
    }

    pub async fn redis(url: &str) -> Result<PolicyStore, StoreError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(REDIS_RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(REDIS_RESPONSE_TIMEOUT))
            .set_max_delay(REDIS_MAX_BACKOFF);
        Ok(PolicyStore::Redis(redis::aio::ConnectionManager::new_with_config(client, config).await?))
    }

    /// Runs one Redis command (resent once after a reconnection).
    async fn command<T: redis::FromRedisValue>(
        connection: &redis::aio::ConnectionManager,
        command: redis::Cmd,
    ) -> Result<T, StoreError> {
        Ok(with_reconnect(connection, |mut c| {
            let command = command.clone();
            async move { command.query_async(&mut c).await }
        })
        .await?)
    }

    /// Whether the store answers (Redis reachable); the memory store always does.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            PolicyStore::Memory(_) => Ok(()),
            PolicyStore::Redis(connection) => {
                let _: String = Self::command(connection, redis::cmd("PING")).await?;
                Ok(())
            }
        }
    }

    /// The counters of `key`.
    pub async fn get(&self, key: &str) -> Result<Attempts, StoreError> {
        Ok(self.read(key).await?.1)
    }

    async fn read(&self, key: &str) -> Result<(u64, Attempts), StoreError> {
        match self {
            PolicyStore::Memory(memory) => Ok((0, lock(&memory.attempts).get(key).cloned().unwrap_or_default())),
            PolicyStore::Redis(connection) => {
                let mut hmget = redis::cmd("HMGET");
                hmget.arg(redis_key("attempts", key)).arg("version").arg("state");
                let (version, state): (Option<u64>, Option<String>) = Self::command(connection, hmget).await?;
                let attempts = match state {
                    Some(json) => serde_json::from_str(&json).map_err(|err| StoreError::Corrupt(err.to_string()))?,
                    None => Attempts::default(),
                };
                Ok((version.unwrap_or(0), attempts))
            }
        }
    }

    /// Applies `change` to the counters of `key` atomically; returns the new counters.
    async fn update(&self, key: &str, change: impl Fn(&mut Attempts)) -> Result<Attempts, StoreError> {
        match self {
            PolicyStore::Memory(memory) => {
                let mut map = lock(&memory.attempts);
                let attempts = map.entry(key.to_string()).or_default();
                change(attempts);
                Ok(attempts.clone())
            }
            PolicyStore::Redis(connection) => {
                let script = redis::Script::new(CAS_SCRIPT);
                for _ in 0..CAS_RETRIES {
                    let (version, mut attempts) = self.read(key).await?;
                    change(&mut attempts);
                    let state = serde_json::to_string(&attempts).map_err(|err| StoreError::Corrupt(err.to_string()))?;
                    let written: i32 = with_reconnect(connection, |mut c| {
                        let (script, state) = (&script, &state);
                        async move {
                            script
                                .key(redis_key("attempts", key))
                                .arg(version)
                                .arg(version + 1)
                                .arg(state)
                                .arg(ATTEMPTS_TTL_MS)
                                .invoke_async(&mut c)
                                .await
                        }
                    })
                    .await?;
                    if written == 1 {
                        return Ok(attempts);
                    }
                }
                Err(StoreError::Contended)
            }
        }
    }

    /// Whether a session of `key` may start now. The FINAL_FAILURE record is read on every
    /// decision: it outlives the counters (which expire 7 days after their last change) until
    /// an operator lifts it.
    pub async fn decide(&self, key: &str, now_ms: u64, s: &PolicySettings) -> Result<Decision, StoreError> {
        if self.final_failure(key).await?.is_some() {
            return Ok(Decision::FinalFailure);
        }
        Ok(self.get(key).await?.decide(now_ms, s))
    }

    /// Decides whether a session of `key` may start and, when it may, reserves its strike in
    /// the same atomic change: two sessions starting at once both count. A FINAL_FAILURE
    /// record refuses it whatever the counters say.
    pub async fn reserve(&self, key: &str, now_ms: u64, s: &PolicySettings) -> Result<Decision, StoreError> {
        if self.final_failure(key).await?.is_some() {
            return Ok(Decision::FinalFailure);
        }
        let decision = std::sync::Mutex::new(Decision::FinalFailure);
        self.update(key, |a| {
            let decided = a.decide(now_ms, s);
            if matches!(decided, Decision::Allowed { .. }) {
                a.reserve(now_ms, s);
            }
            *lock(&decision) = decided;
        })
        .await?;
        Ok(decision.into_inner().unwrap_or_else(|p| p.into_inner()))
    }

    /// A session whose strike was reserved ended without passing; for a relying party's user
    /// whose rounds are used up, writes the FINAL_FAILURE record.
    pub async fn fail(&self, key: &str, now_ms: u64, s: &PolicySettings) -> Result<Attempts, StoreError> {
        let terminal = is_relying_party_key(key);
        let attempts = self
            .update(key, |a| {
                a.fail(now_ms, s, terminal);
            })
            .await?;
        if attempts.final_failure_at_ms == Some(now_ms) {
            let record = FinalFailure {
                status: "FINAL_FAILURE".into(),
                key: key.to_string(),
                strikes: attempts.strikes,
                at_ms: now_ms,
            };
            self.write_final(record).await?;
        }
        Ok(attempts)
    }

    /// Gives back the strike a session reserved (the server ended it).
    pub async fn unreserve(&self, key: &str, s: &PolicySettings) -> Result<(), StoreError> {
        self.update(key, |a| a.unreserve(s)).await.map(|_| ())
    }

    /// Marks `key` as having a live session, `owner`'s, for at most `ttl` (a crashed server's
    /// claim lapses); false when another session of `key` is live, on any server sharing the
    /// store.
    pub async fn claim_live(&self, key: &str, owner: &str, ttl: std::time::Duration) -> Result<bool, StoreError> {
        self.claim_record("live", key, owner, ttl).await
    }

    /// The live session of `key` ended: its claim goes if `owner` still holds it (a claim that
    /// lapsed and was taken by another session stays).
    pub async fn release_live(&self, key: &str, owner: &str) -> Result<bool, StoreError> {
        self.release_record("live", key, owner).await
    }

    /// A success clears the counters (not a FINAL_FAILURE record).
    pub async fn succeed(&self, key: &str) -> Result<(), StoreError> {
        self.update(key, |a| {
            if a.final_failure_at_ms.is_none() {
                *a = Attempts::default();
            }
        })
        .await
        .map(|_| ())
    }

    /// Lifts the FINAL_FAILURE of `key` (an operator's decision): the record and the counters
    /// go. Returns whether there was one.
    pub async fn lift_final_failure(&self, key: &str) -> Result<bool, StoreError> {
        let lifted = match self {
            PolicyStore::Memory(memory) => lock(&memory.finals).remove(key).is_some(),
            PolicyStore::Redis(connection) => {
                let deleted: i64 =
                    Self::command(connection, redis::cmd("DEL").arg(redis_key("final-failure", key)).clone()).await?;
                deleted > 0
            }
        };
        self.update(key, |a| *a = Attempts::default()).await?;
        Ok(lifted)
    }

    async fn write_final(&self, record: FinalFailure) -> Result<(), StoreError> {
        match self {
            PolicyStore::Memory(memory) => {
                lock(&memory.finals).entry(record.key.clone()).or_insert(record);
                Ok(())
            }
            PolicyStore::Redis(connection) => {
                let json = serde_json::to_string(&record).map_err(|err| StoreError::Corrupt(err.to_string()))?;
                let mut set = redis::cmd("SET");
                set.arg(redis_key("final-failure", &record.key)).arg(&json).arg("NX");
                let _: Option<String> = Self::command(connection, set).await?;
                Ok(())
            }
        }
    }

    /// The FINAL_FAILURE record of `key`, if one was written.
    pub async fn final_failure(&self, key: &str) -> Result<Option<FinalFailure>, StoreError> {
        match self {
            PolicyStore::Memory(memory) => Ok(lock(&memory.finals).get(key).cloned()),
            PolicyStore::Redis(connection) => {
                let json: Option<String> =
                    Self::command(connection, redis::cmd("GET").arg(redis_key("final-failure", key)).clone()).await?;
                json.map(|j| serde_json::from_str(&j).map_err(|err| StoreError::Corrupt(err.to_string()))).transpose()
            }
        }
    }

    /// Keeps `value` under `kind`/`id` for `ttl` (replacing what was there). Records are
    /// shared by every server of one Redis, like the counters.
    pub async fn put_record(
        &self,
        kind: &str,
        id: &str,
        value: &str,
        ttl: std::time::Duration,
    ) -> Result<(), StoreError> {
        match self {
            PolicyStore::Memory(memory) => {
                let expiry = std::time::Instant::now() + ttl;
                let mut records = lock(&memory.records);
                let now = std::time::Instant::now();
                records.retain(|_, (_, expiry)| *expiry > now);
                records.insert(redis_key(kind, id), (value.to_string(), expiry));
                Ok(())
            }
            PolicyStore::Redis(connection) => {
                let mut set = redis::cmd("SET");
                set.arg(redis_key(kind, id)).arg(value).arg("PX").arg(ttl.as_millis().max(1) as u64);
                let _: Option<String> = Self::command(connection, set).await?;
                Ok(())
            }
        }
    }

    /// Keeps `value` under `kind`/`id` for `ttl` unless a record is there already: whether it
    /// was written (the first caller wins, on every server of one Redis).
    pub async fn claim_record(
        &self,
        kind: &str,
        id: &str,
        value: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        match self {
            PolicyStore::Memory(memory) => {
                let mut records = lock(&memory.records);
                let now = std::time::Instant::now();
                records.retain(|_, (_, expiry)| *expiry > now);
                let key = redis_key(kind, id);
                if records.contains_key(&key) {
                    return Ok(false);
                }
                records.insert(key, (value.to_string(), now + ttl));
                Ok(true)
            }
            PolicyStore::Redis(connection) => {
                let mut set = redis::cmd("SET");
                set.arg(redis_key(kind, id)).arg(value).arg("NX").arg("PX").arg(ttl.as_millis().max(1) as u64);
                let set: Option<String> = Self::command(connection, set).await?;
                Ok(set.is_some())
            }
        }
    }

    /// Removes the record under `kind`/`id` if it holds `value` (compare and delete, in one
    /// step): only its owner removes it. Whether it did.
    pub async fn release_record(&self, kind: &str, id: &str, value: &str) -> Result<bool, StoreError> {
        match self {
            PolicyStore::Memory(memory) => {
                let mut records = lock(&memory.records);
                let key = redis_key(kind, id);
                let owned = records.get(&key).is_some_and(|(held, _)| held == value);
                if owned {
                    records.remove(&key);
                }
                Ok(owned)
            }
            PolicyStore::Redis(connection) => {
                let script = redis::Script::new(RELEASE_SCRIPT);
                let key = redis_key(kind, id);
                let deleted: i64 = with_reconnect(connection, |mut c| {
                    let (script, key) = (&script, &key);
                    async move { script.key(key).arg(value).invoke_async(&mut c).await }
                })
                .await?;
                Ok(deleted == 1)
            }
        }
    }

    /// The record under `kind`/`id`, unless it expired.
    pub async fn get_record(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        self.read_record(kind, id, false).await
    }

    /// Takes the record under `kind`/`id` away (atomically: one caller gets it).
    pub async fn take_record(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        self.read_record(kind, id, true).await
    }

    async fn read_record(&self, kind: &str, id: &str, take: bool) -> Result<Option<String>, StoreError> {
        match self {
            PolicyStore::Memory(memory) => {
                let mut records = lock(&memory.records);
                let key = redis_key(kind, id);
                let live = records.get(&key).filter(|(_, expiry)| *expiry > std::time::Instant::now()).cloned();
                if take || live.is_none() {
                    records.remove(&key);
                }
                Ok(live.map(|(value, _)| value))
            }
            PolicyStore::Redis(connection) => {
                let verb = if take { "GETDEL" } else { "GET" };
                Self::command(connection, redis::cmd(verb).arg(redis_key(kind, id)).clone()).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60 * 1000;

    /// A session that starts and fails: its strike reserved, then its failure counted.
    fn failed_session(a: &mut Attempts, now: u64, s: &PolicySettings, terminal: bool) -> bool {
        a.reserve(now, s);
        a.fail(now, s, terminal)
    }

    #[test]
    fn three_strikes_cool_down_fifteen_minutes_and_the_ninth_is_final() {
        let s = PolicySettings::default();
        let mut a = Attempts::default();
        let mut now = 0;
        for strike in 1..=8u32 {
            assert!(matches!(a.decide(now, &s), Decision::Allowed { .. }), "strike {strike}");
            assert!(!failed_session(&mut a, now, &s, true));
            if strike % 3 == 0 {
                assert_eq!(a.decide(now, &s), Decision::Cooldown { until_ms: now + 15 * MIN });
                assert_eq!(a.decide(now + 15 * MIN - 1, &s), Decision::Cooldown { until_ms: now + 15 * MIN });
                now += 15 * MIN;
                assert_eq!(a.decide(now, &s), Decision::Allowed { attempts_left: 3 });
            } else {
                assert_eq!(a.decide(now, &s), Decision::Allowed { attempts_left: 3 - strike % 3 });
            }
            now += MIN;
        }
        assert!(failed_session(&mut a, now, &s, true), "strike 9 is terminal");
        assert_eq!(a.decide(now + 1000 * MIN, &s), Decision::FinalFailure);
        assert!(!a.fail(now, &s, true));
        assert_eq!(a.strikes, 9);
    }

    #[test]
    fn a_reserved_strike_counts_while_the_session_runs() {
        let s = PolicySettings::default();
        let mut a = Attempts::default();
        // Three sessions start at once: the third ends the round, a fourth must wait.
        for _ in 0..3 {
            a.reserve(0, &s);
        }
        assert_eq!(a.decide(0, &s), Decision::Cooldown { until_ms: 15 * MIN });
        // The third ends a minute later: its cooldown counts from its end.
        assert!(!a.fail(MIN, &s, true));
        assert_eq!(a.decide(MIN, &s), Decision::Cooldown { until_ms: 16 * MIN });
        // A reservation given back (the server shut down) lifts the cooldown it started.
        let mut b = Attempts::default();
        b.reserve(0, &s);
        b.reserve(0, &s);
        b.reserve(0, &s);
        b.unreserve(&s);
        assert_eq!((b.strikes, b.decide(0, &s)), (2, Decision::Allowed { attempts_left: 1 }));
    }

    #[test]
    fn anonymous_keys_cool_down_but_never_end_for_good() {
        let s = PolicySettings::default();
        let mut a = Attempts::default();
        for strike in 0..30 {
            assert!(!failed_session(&mut a, strike * 20 * MIN, &s, false));
        }
        assert_eq!(a.final_failure_at_ms, None);
        // The 30th strike (at 29 x 20 min) ended a round: 15 minutes of cooldown, then on.
        assert!(matches!(a.decide(29 * 20 * MIN + 1, &s), Decision::Cooldown { .. }));
        assert!(matches!(a.decide(30 * 20 * MIN, &s), Decision::Allowed { .. }));
        assert!(is_relying_party_key("rp:shop:alice") && !is_relying_party_key("address:192.0.2.1"));
    }

    #[tokio::test]
    async fn the_memory_store_records_the_final_failure_and_success_clears() {
        let store = PolicyStore::memory();
        let s = PolicySettings::default();
        for now in [0, 1] {
            assert!(matches!(store.reserve("rp:x:alice", now, &s).await.unwrap(), Decision::Allowed { .. }));
            store.fail("rp:x:alice", now, &s).await.unwrap();
        }
        store.succeed("rp:x:alice").await.unwrap();
        assert_eq!(store.get("rp:x:alice").await.unwrap(), Attempts::default());
        for i in 0..9 {
            assert!(matches!(store.reserve("rp:x:bob", i * 20 * MIN, &s).await.unwrap(), Decision::Allowed { .. }));
            store.fail("rp:x:bob", i * 20 * MIN, &s).await.unwrap();
        }
        assert_eq!(store.reserve("rp:x:bob", 0, &s).await.unwrap(), Decision::FinalFailure);
        let record = store.final_failure("rp:x:bob").await.unwrap().expect("a record");
        assert_eq!((record.status.as_str(), record.strikes), ("FINAL_FAILURE", 9));
        store.succeed("rp:x:bob").await.unwrap();
        assert_eq!(store.decide("rp:x:bob", 0, &s).await.unwrap(), Decision::FinalFailure, "terminal stays terminal");
        assert!(store.final_failure("rp:x:alice").await.unwrap().is_none());
        assert!(store.lift_final_failure("rp:x:bob").await.unwrap(), "an operator lifts it");
        assert_eq!(store.decide("rp:x:bob", 0, &s).await.unwrap(), Decision::Allowed { attempts_left: 3 });
        assert!(!store.lift_final_failure("rp:x:bob").await.unwrap());
    }

    #[tokio::test]
    async fn a_final_failure_outlives_the_counters() {
        let (store, s) = (PolicyStore::memory(), PolicySettings::default());
        for strike in 0..9u64 {
            assert!(matches!(
                store.reserve("rp:x:eve", strike * 16 * MIN, &s).await.unwrap(),
                Decision::Allowed { .. }
            ));
            store.fail("rp:x:eve", strike * 16 * MIN, &s).await.unwrap();
        }
        // The counters expire (7 days); the record stays until it is lifted.
        let PolicyStore::Memory(memory) = &store else { unreachable!() };
        lock(&memory.attempts).remove("rp:x:eve");
        assert_eq!(store.decide("rp:x:eve", 400 * 24 * 60 * MIN, &s).await.unwrap(), Decision::FinalFailure);
        assert_eq!(store.reserve("rp:x:eve", 400 * 24 * 60 * MIN, &s).await.unwrap(), Decision::FinalFailure);
        assert_eq!(store.get("rp:x:eve").await.unwrap(), Attempts::default(), "no strike was reserved");
    }

    #[tokio::test]
    async fn a_claim_is_released_by_its_owner_only() {
        let store = PolicyStore::memory();
        let ttl = std::time::Duration::from_secs(60);
        assert!(store.claim_live("rp:x:bob", "session-1", ttl).await.unwrap());
        assert!(!store.claim_live("rp:x:bob", "session-2", ttl).await.unwrap(), "one live session");
        assert!(!store.release_live("rp:x:bob", "session-2").await.unwrap(), "not the owner");
        assert!(!store.claim_live("rp:x:bob", "session-3", ttl).await.unwrap(), "still claimed");
        assert!(store.release_live("rp:x:bob", "session-1").await.unwrap());
        assert!(store.claim_live("rp:x:bob", "session-3", ttl).await.unwrap());
    }

    #[tokio::test]
    async fn records_expire_and_are_taken_once() {
        let store = PolicyStore::memory();
        store.put_record("t", "a", "one", std::time::Duration::from_secs(60)).await.unwrap();
        store.put_record("t", "b", "two", std::time::Duration::from_millis(1)).await.unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(store.get_record("t", "a").await.unwrap().as_deref(), Some("one"));
        assert_eq!(store.get_record("t", "b").await.unwrap(), None, "expired");
        assert_eq!(store.take_record("t", "a").await.unwrap().as_deref(), Some("one"));
        assert_eq!(store.take_record("t", "a").await.unwrap(), None, "taken once");
    }

    #[test]
    fn redis_keys_hold_no_character_of_the_user_key() {
        assert_eq!(redis_key("attempts", "a:b*"), "lpserver:attempts:613a622a");
    }
}
