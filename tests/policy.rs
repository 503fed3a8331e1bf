//! The session policy against a real `redis-server` (started here, on a unix socket, no
//! dumps): two stores stand for two servers sharing one Redis; time is passed in. A failed
//! session is a reservation at its start, then its failure at its end.

mod common;

use lpserver::policy::{Attempts, Decision, PolicySettings, PolicyStore};

const MIN: u64 = 60 * 1000;

/// A session of `key` that starts on `store` at `now` and fails.
async fn failed_session(store: &PolicyStore, key: &str, now: u64, s: &PolicySettings) {
    assert!(matches!(store.reserve(key, now, s).await.unwrap(), Decision::Allowed { .. }), "{key} may start");
    store.fail(key, now, s).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_share_strikes_cooldowns_and_the_final_failure() {
    let (_redis, url) = common::RedisServer::start();
    let (a, b) = (PolicyStore::redis(&url).await.unwrap(), PolicyStore::redis(&url).await.unwrap());
    let s = PolicySettings::default();
    failed_session(&a, "rp:shop:alice", 0, &s).await;
    failed_session(&b, "rp:shop:alice", MIN, &s).await;
    assert_eq!(a.decide("rp:shop:alice", MIN, &s).await.unwrap(), Decision::Allowed { attempts_left: 1 });
    failed_session(&a, "rp:shop:alice", 2 * MIN, &s).await;
    assert_eq!(b.decide("rp:shop:alice", 3 * MIN, &s).await.unwrap(), Decision::Cooldown { until_ms: 17 * MIN });
    assert_eq!(b.reserve("rp:shop:alice", 3 * MIN, &s).await.unwrap(), Decision::Cooldown { until_ms: 17 * MIN });
    assert_eq!(b.decide("rp:shop:alice", 17 * MIN, &s).await.unwrap(), Decision::Allowed { attempts_left: 3 });
    // A success on the other server clears everything.
    b.succeed("rp:shop:alice").await.unwrap();
    assert_eq!(a.get("rp:shop:alice").await.unwrap(), Attempts::default());
    // Nine strikes over three rounds: the ninth is final and writes the record.
    let mut now = 0;
    for strike in 1..=9 {
        let store = if strike % 2 == 0 { &a } else { &b };
        failed_session(store, "rp:shop:mallory", now, &s).await;
        now += 16 * MIN;
    }
    assert_eq!(a.decide("rp:shop:mallory", now + 1000 * MIN, &s).await.unwrap(), Decision::FinalFailure);
    let record = b.final_failure("rp:shop:mallory").await.unwrap().expect("FINAL_FAILURE record");
    assert_eq!((record.status.as_str(), record.strikes, record.key.as_str()), ("FINAL_FAILURE", 9, "rp:shop:mallory"));
    assert!(a.final_failure("rp:shop:alice").await.unwrap().is_none());
    // An operator lifts it on one server; the other sees it lifted.
    assert!(a.lift_final_failure("rp:shop:mallory").await.unwrap());
    assert!(b.final_failure("rp:shop:mallory").await.unwrap().is_none());
    assert_eq!(b.decide("rp:shop:mallory", now, &s).await.unwrap(), Decision::Allowed { attempts_left: 3 });
    // An address never reaches FINAL_FAILURE: it stands for everyone behind it.
    for n in 0..12 {
        failed_session(&a, "address:192.0.2.1", n * 16 * MIN, &s).await;
    }
    assert!(a.final_failure("address:192.0.2.1").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_failures_on_two_servers_are_all_counted() {
    let (_redis, url) = common::RedisServer::start();
    let (a, b) = (PolicyStore::redis(&url).await.unwrap(), PolicyStore::redis(&url).await.unwrap());
    let s = PolicySettings { attempts: 100, cooldown_ms: MIN, rounds: 1 };
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let mut tasks = Vec::new();
    for i in 0..40u64 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { store.reserve("carol", i, &s).await }));
    }
    for task in tasks {
        assert!(matches!(task.await.unwrap().unwrap(), Decision::Allowed { .. }));
    }
    assert_eq!(a.get("carol").await.unwrap().strikes, 40, "every reservation counted");
    // Reservations race past the end of a round: exactly `attempts` start.
    let s = PolicySettings { attempts: 3, cooldown_ms: MIN, rounds: 3 };
    let mut tasks = Vec::new();
    for i in 0..12u64 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { store.reserve("rp:shop:dave", 0, &s).await }));
    }
    let mut allowed = 0;
    for task in tasks {
        allowed += usize::from(matches!(task.await.unwrap().unwrap(), Decision::Allowed { .. }));
    }
    assert_eq!((allowed, a.get("rp:shop:dave").await.unwrap().strikes), (3, 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_redis_is_a_clear_error() {
    let err = PolicyStore::redis("unix:///nonexistent/redis.sock").await.err().expect("no server");
    assert!(err.to_string().contains("redis"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_final_failure_holds_after_the_counters_expire_until_it_is_lifted() {
    let (_redis, url) = common::RedisServer::start();
    let store = PolicyStore::redis(&url).await.unwrap();
    let s = PolicySettings::default();
    let mut now = 0;
    for _ in 0..9 {
        failed_session(&store, "rp:shop:oscar", now, &s).await;
        now += 16 * MIN;
    }
    // Redis drops the counters 7 days after their last change: here, at once.
    let mut redis = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let counters = gstliveness::store::hex_key("lpserver:attempts", "rp:shop:oscar");
    let deleted: i64 = redis::cmd("DEL").arg(&counters).query(&mut redis).unwrap();
    assert_eq!(deleted, 1, "the counters were in Redis under {counters}");
    assert_eq!(store.decide("rp:shop:oscar", now, &s).await.unwrap(), Decision::FinalFailure);
    assert_eq!(store.reserve("rp:shop:oscar", now, &s).await.unwrap(), Decision::FinalFailure);
    assert!(store.lift_final_failure("rp:shop:oscar").await.unwrap());
    assert_eq!(store.decide("rp:shop:oscar", now, &s).await.unwrap(), Decision::Allowed { attempts_left: 3 });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_claim_is_released_by_the_session_that_holds_it_only() {
    let (_redis, url) = common::RedisServer::start();
    let (a, b) = (PolicyStore::redis(&url).await.unwrap(), PolicyStore::redis(&url).await.unwrap());
    let short = std::time::Duration::from_millis(200);
    assert!(a.claim_live("rp:shop:pat", "session-a", short).await.unwrap());
    assert!(!b.claim_live("rp:shop:pat", "session-b", short).await.unwrap(), "one live session across servers");
    // Session a's claim lapses (its server was slow to drain) and session b takes it over.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(b.claim_live("rp:shop:pat", "session-b", std::time::Duration::from_secs(60)).await.unwrap());
    // When a finally ends, b's claim stays.
    assert!(!a.release_live("rp:shop:pat", "session-a").await.unwrap());
    assert!(!a.claim_live("rp:shop:pat", "session-c", short).await.unwrap(), "b is still live");
    assert!(b.release_live("rp:shop:pat", "session-b").await.unwrap());
    assert!(a.claim_live("rp:shop:pat", "session-c", short).await.unwrap());
}
