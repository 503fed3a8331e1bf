//! Seed 002's persistent failure and cooldown policy: 3 failed sessions ("strikes") per user
//! key, then a 15-minute cooldown; cooldowns after strikes 3 and 6; strike 9 is terminal and
//! writes a FINAL_FAILURE record; a success clears the counters. State lives in Redis when
//! `REDIS_URL` is set (servers behind one load balancer share it), in memory otherwise.
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

    /// Counts a failed session. Returns true when it was the terminal strike.
    pub fn fail(&mut self, now_ms: u64, s: &PolicySettings) -> bool {
        if self.final_failure_at_ms.is_some() {
            return false;
        }
        self.strikes += 1;
        if self.strikes >= s.attempts * s.rounds {
            self.final_failure_at_ms = Some(now_ms);
            return true;
        }
        if self.strikes.is_multiple_of(s.attempts.max(1)) {
            self.cooldown_until_ms = now_ms + s.cooldown_ms;
        }
        false
    }
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

/// Where the counters live.
pub enum PolicyStore {
    /// Counters, FINAL_FAILURE records and the keys with a live session.
    Memory(Mutex<HashMap<String, Attempts>>, Mutex<Vec<FinalFailure>>, Mutex<std::collections::HashSet<String>>),
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
    match command(connection.clone()).await {
        Err(err) if err.is_io_error() || err.is_connection_dropped() || err.is_unrecoverable_error() => {
            command(connection.clone()).await
        }
        result => result,
    }
}

/// Redis keys hold the user key hex-encoded: no character of it can reach another key.
fn redis_key(kind: &str, key: &str) -> String {
    gstliveness::lvvideoglue::store::hex_key(&format!("lpserver:{kind}"), key)
}

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
        PolicyStore::Memory(Mutex::default(), Mutex::default(), Mutex::default())
    }

    pub async fn redis(url: &str) -> Result<PolicyStore, StoreError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(REDIS_RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(REDIS_RESPONSE_TIMEOUT))
            .set_max_delay(REDIS_MAX_BACKOFF);
        Ok(PolicyStore::Redis(redis::aio::ConnectionManager::new_with_config(client, config).await?))
    }

    /// Whether the store answers (Redis reachable); the memory store always does.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            PolicyStore::Memory(..) => Ok(()),
            PolicyStore::Redis(connection) => {
                let _: String =
                    with_reconnect(connection, |mut c| async move { redis::cmd("PING").query_async(&mut c).await })
                        .await?;
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
            PolicyStore::Memory(map, ..) => {
                Ok((0, map.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned().unwrap_or_default()))
            }
            PolicyStore::Redis(connection) => {
                let (version, state): (Option<u64>, Option<String>) = with_reconnect(connection, |mut c| async move {
                    redis::cmd("HMGET")
                        .arg(redis_key("attempts", key))
                        .arg("version")
                        .arg("state")
                        .query_async(&mut c)
                        .await
                })
                .await?;
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
            PolicyStore::Memory(map, ..) => {
                let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
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

    pub async fn decide(&self, key: &str, now_ms: u64, s: &PolicySettings) -> Result<Decision, StoreError> {
        Ok(self.get(key).await?.decide(now_ms, s))
    }

    /// Counts a failed session; at the terminal strike writes the FINAL_FAILURE record.
    pub async fn fail(&self, key: &str, now_ms: u64, s: &PolicySettings) -> Result<Attempts, StoreError> {
        let attempts = self
            .update(key, |a| {
                a.fail(now_ms, s);
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

    /// Marks `key` as having a live session, for at most `ttl` (a crashed server's claim
    /// lapses); false when another session of `key` is live, on any server sharing the store.
    pub async fn claim_live(&self, key: &str, ttl: std::time::Duration) -> Result<bool, StoreError> {
        match self {
            PolicyStore::Memory(_, _, live) => {
                Ok(live.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string()))
            }
            PolicyStore::Redis(connection) => {
                let live_key = redis_key("live", key);
                let ttl_ms = ttl.as_millis() as u64;
                let set: Option<String> = with_reconnect(connection, |mut c| {
                    let set = redis::cmd("SET").arg(&live_key).arg(1).arg("NX").arg("PX").arg(ttl_ms).clone();
                    async move { set.query_async(&mut c).await }
                })
                .await?;
                Ok(set.is_some())
            }
        }
    }

    /// The live session of `key` ended.
    pub async fn release_live(&self, key: &str) -> Result<(), StoreError> {
        match self {
            PolicyStore::Memory(_, _, live) => {
                live.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
                Ok(())
            }
            PolicyStore::Redis(connection) => {
                let live_key = redis_key("live", key);
                let _: i64 = with_reconnect(connection, |mut c| {
                    let del = redis::cmd("DEL").arg(&live_key).clone();
                    async move { del.query_async(&mut c).await }
                })
                .await?;
                Ok(())
            }
        }
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

    async fn write_final(&self, record: FinalFailure) -> Result<(), StoreError> {
        match self {
            PolicyStore::Memory(_, finals, _) => {
                finals.lock().unwrap_or_else(|p| p.into_inner()).push(record);
                Ok(())
            }
            PolicyStore::Redis(connection) => {
                let json = serde_json::to_string(&record).map_err(|err| StoreError::Corrupt(err.to_string()))?;
                let key = redis_key("final-failure", &record.key);
                let _: () = with_reconnect(connection, |mut c| {
                    let set = redis::cmd("SET").arg(&key).arg(&json).arg("NX").clone();
                    async move { set.query_async(&mut c).await }
                })
                .await?;
                Ok(())
            }
        }
    }

    /// The FINAL_FAILURE record of `key`, if one was written.
    pub async fn final_failure(&self, key: &str) -> Result<Option<FinalFailure>, StoreError> {
        match self {
            PolicyStore::Memory(_, finals, _) => {
                Ok(finals.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|r| r.key == key).cloned())
            }
            PolicyStore::Redis(connection) => {
                let json: Option<String> = with_reconnect(connection, |mut c| async move {
                    redis::cmd("GET").arg(redis_key("final-failure", key)).query_async(&mut c).await
                })
                .await?;
                json.map(|j| serde_json::from_str(&j).map_err(|err| StoreError::Corrupt(err.to_string()))).transpose()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60 * 1000;

    #[test]
    fn three_strikes_cool_down_fifteen_minutes_and_the_ninth_is_final() {
        let s = PolicySettings::default();
        let mut a = Attempts::default();
        let mut now = 0;
        for strike in 1..=8u32 {
            assert!(matches!(a.decide(now, &s), Decision::Allowed { .. }), "strike {strike}");
            assert!(!a.fail(now, &s));
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
        assert!(a.fail(now, &s), "strike 9 is terminal");
        assert_eq!(a.decide(now + 1000 * MIN, &s), Decision::FinalFailure);
        assert!(!a.fail(now, &s));
        assert_eq!(a.strikes, 9);
    }

    #[tokio::test]
    async fn the_memory_store_records_the_final_failure_and_success_clears() {
        let store = PolicyStore::memory();
        let s = PolicySettings::default();
        store.fail("alice", 0, &s).await.unwrap();
        store.fail("alice", 1, &s).await.unwrap();
        store.succeed("alice").await.unwrap();
        assert_eq!(store.get("alice").await.unwrap(), Attempts::default());
        for i in 0..9 {
            store.fail("bob", i * 20 * MIN, &s).await.unwrap();
        }
        assert_eq!(store.decide("bob", 0, &s).await.unwrap(), Decision::FinalFailure);
        let record = store.final_failure("bob").await.unwrap().expect("a record");
        assert_eq!((record.status.as_str(), record.strikes), ("FINAL_FAILURE", 9));
        store.succeed("bob").await.unwrap();
        assert_eq!(store.decide("bob", 0, &s).await.unwrap(), Decision::FinalFailure, "terminal stays terminal");
        assert!(store.final_failure("alice").await.unwrap().is_none());
    }

    #[test]
    fn redis_keys_hold_no_character_of_the_user_key() {
        assert_eq!(redis_key("attempts", "a:b*"), "lpserver:attempts:613a622a");
    }
}
