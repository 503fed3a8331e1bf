use super::*;

fn ip(last: u8) -> IpAddr {
    IpAddr::from([10, 0, 0, last])
}

fn connections(max_connections: usize, max_per_address: usize) -> Arc<Connections> {
    Connections::new(Limits { max_connections, max_per_address, header_timeout: Duration::from_secs(10) })
}

/// Whether the ticket's connection was told to close (without waiting).
fn told_to_close(ticket: &Ticket) -> bool {
    use futures_util::FutureExt;
    let notified = ticket.close.notified();
    let mut notified = std::pin::pin!(notified);
    notified.as_mut().enable();
    notified.now_or_never().is_some()
}

#[test]
fn an_address_holds_at_most_its_bound_and_gets_its_places_back() {
    let connections = connections(100, 2);
    let first = connections.admit(ip(1)).expect("first");
    let _second = connections.admit(ip(1)).expect("second");
    assert_eq!(connections.admit(ip(1)).err(), Some(Refusal::Address));
    assert!(connections.admit(ip(2)).is_ok(), "another address has its own places");
    drop(first);
    assert!(connections.admit(ip(1)).is_ok(), "a closed connection gives its place back");
}

#[test]
fn zero_per_address_is_no_bound() {
    let connections = connections(100, 0);
    let tickets: Vec<Ticket> = (0..50).map(|_| connections.admit(ip(1)).expect("admitted")).collect();
    assert_eq!(connections.open(), tickets.len());
}

#[test]
fn at_the_global_bound_the_longest_waiting_connection_is_closed_for_the_new_one() {
    let connections = connections(3, 0);
    let oldest = connections.admit(ip(1)).expect("1");
    std::thread::sleep(Duration::from_millis(2));
    let busy = Arc::new(connections.admit(ip(2)).expect("2"));
    let _request = busy.request();
    std::thread::sleep(Duration::from_millis(2));
    let newer = connections.admit(ip(3)).expect("3");
    let fourth = connections.admit(ip(4)).expect("room is made");
    assert!(told_to_close(&oldest), "the longest-waiting connection goes");
    assert!(!told_to_close(&newer) && !told_to_close(&busy), "the others stay");
    assert_eq!(connections.open(), 4, "it counts until its socket is closed");
    drop(oldest);
    assert_eq!(connections.open(), 3);
    // The next goes for the next-longest waiting, never the one with a request in flight.
    let _fifth = connections.admit(ip(5)).expect("room is made again");
    assert!(told_to_close(&newer));
    assert!(!told_to_close(&busy) && !told_to_close(&fourth));
}

#[test]
fn with_every_connection_busy_or_upgraded_the_new_one_is_refused() {
    let connections = connections(2, 0);
    let busy = Arc::new(connections.admit(ip(1)).expect("1"));
    let _request = busy.request();
    let upgraded = Arc::new(connections.admit(ip(2)).expect("2"));
    let mut guard = upgraded.request();
    guard.upgraded = true;
    drop(guard);
    assert_eq!(connections.admit(ip(3)).err(), Some(Refusal::Full));
    assert!(!told_to_close(&upgraded), "an LPProto connection is never closed for room");
    assert_eq!(connections.refused.load(std::sync::atomic::Ordering::Relaxed), 0, "refusals are counted by serve");
}

#[test]
fn a_finished_request_makes_its_connection_wait_again() {
    let connections = connections(1, 0);
    let ticket = Arc::new(connections.admit(ip(1)).expect("1"));
    drop(ticket.request());
    assert!(connections.admit(ip(2)).is_ok(), "after its request the connection may be closed for room");
    assert!(told_to_close(&ticket));
}

#[test]
fn refusals_answer_with_their_http_status_and_code() {
    let address = Refusal::Address.error();
    assert_eq!((address.status().as_u16(), address.code), (429, ErrorCode::TooManyConnections));
    let full = Refusal::Full.error();
    assert_eq!((full.status().as_u16(), full.code), (503, ErrorCode::ServerFull));
    assert_eq!(full.retry_after_ms, Some(1000));
}

#[test]
fn accept_errors_are_logged_once_a_second_and_shown_by_ready() {
    let connections = connections(10, 0);
    assert_eq!(connections.trouble(), None);
    let error = std::io::Error::from_raw_os_error(libc::EMFILE);
    assert!(connections.accept_failed(&error), "the first is logged");
    assert!(!connections.accept_failed(&error), "the next within a second is not");
    assert!(connections.trouble().is_some_and(|t| t.contains("open files")), "{:?}", connections.trouble());
}
