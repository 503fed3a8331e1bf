//! The session policy against a real `redis-server` (started here, on a unix socket, no
//! dumps): two stores stand for two servers sharing one Redis; time is passed in.

mod common;

use lpserver::policy::{Attempts, Decision, PolicySettings, PolicyStore};

const MIN: u64 = 60 * 1000;

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_share_strikes_cooldowns_and_the_final_failure() {
    let (_redis, url) = common::RedisServer::start();
    let (a, b) = (PolicyStore::redis(&url).await.unwrap(), PolicyStore::redis(&url).await.unwrap());
    let s = PolicySettings::default();
    a.fail("alice", 0, &s).await.unwrap();
    b.fail("alice", MIN, &s).await.unwrap();
    assert_eq!(a.decide("alice", MIN, &s).await.unwrap(), Decision::Allowed { attempts_left: 1 });
    a.fail("alice", 2 * MIN, &s).await.unwrap();
    assert_eq!(b.decide("alice", 3 * MIN, &s).await.unwrap(), Decision::Cooldown { until_ms: 17 * MIN });
    assert_eq!(b.decide("alice", 17 * MIN, &s).await.unwrap(), Decision::Allowed { attempts_left: 3 });
    // A success on the other server clears everything.
    b.succeed("alice").await.unwrap();
    assert_eq!(a.get("alice").await.unwrap(), Attempts::default());
    // Nine strikes over three rounds: the ninth is final and writes the record.
    let mut now = 0;
    for strike in 1..=9 {
        let store = if strike % 2 == 0 { &a } else { &b };
        store.fail("mallory", now, &s).await.unwrap();
        now += 16 * MIN;
    }
    assert_eq!(a.decide("mallory", now + 1000 * MIN, &s).await.unwrap(), Decision::FinalFailure);
    let record = b.final_failure("mallory").await.unwrap().expect("FINAL_FAILURE record");
    assert_eq!((record.status.as_str(), record.strikes, record.key.as_str()), ("FINAL_FAILURE", 9, "mallory"));
    assert!(a.final_failure("alice").await.unwrap().is_none());
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
        tasks.push(tokio::spawn(async move { store.fail("carol", i, &s).await.map(|_| ()) }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(a.get("carol").await.unwrap().strikes, 40);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_redis_is_a_clear_error() {
    let err = PolicyStore::redis("unix:///nonexistent/redis.sock").await.err().expect("no server");
    assert!(err.to_string().contains("redis"), "{err}");
}
