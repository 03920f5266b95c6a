//! The sync session state machine (issue #11): the rounds around the steps, as the node and the
//! simulator both run them.

use hallsync_model::sync::protocol::network_tag;
use hallsync_model::sync::session::{Event, Host, Output, Session, SessionConfig};
use hallsync_model::sync::wire::{Message, Step};
use hallsync_model::{PeerState, Replica, SignedChange};

use crate::fixture::{fresh, key, Fed};

/// A replica and a count of what was handed to it.
struct TestHost {
    replica: Replica,
    ingested: usize,
}

impl Host for TestHost {
    fn replica(&self) -> &Replica {
        &self.replica
    }

    fn ingest(
        &mut self,
        changes: Vec<SignedChange>,
        parts: Vec<hallsync_model::replica::parts::CarriedPart>,
    ) -> bool {
        self.ingested += changes.len();
        let report = self.replica.ingest(changes);
        self.replica.settle_parts(&report.applied, parts);
        !report.applied.is_empty()
    }
}

fn host(fed: &Fed) -> TestHost {
    let mut replica = fresh(fed);
    replica.ingest(fed.log.clone());
    TestHost {
        replica,
        ingested: 0,
    }
}

fn config() -> SessionConfig {
    SessionConfig {
        chained_rounds_max: 3,
        push_delay_ms: 500,
        retry_ms: 1_000,
        round_timeout_ms: 10_000,
        ..SessionConfig::default()
    }
}

fn outputs(session: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| session.poll_output()).collect()
}

/// Carries every step `opener` has to send to `answerer` and every answer back, at `now`;
/// true when anything moved.
fn deliver(
    opener: &mut Session,
    ho: &mut TestHost,
    answerer: &mut Session,
    ha: &mut TestHost,
    now: u64,
) -> bool {
    let mut moved = false;
    for out in outputs(opener) {
        if let Output::Send(request) = out {
            answerer.handle(ha, now, Event::Request(&request));
            for answer in outputs(answerer) {
                if let Output::Respond(bytes) = answer {
                    opener.handle(ho, now, Event::Response(&bytes));
                    moved = true;
                }
            }
        }
    }
    moved
}

fn sends(outputs: &[Output]) -> usize {
    outputs
        .iter()
        .filter(|o| matches!(o, Output::Send(_)))
        .count()
}

/// An empty step in `fed`'s network, carrying `changes`, with `more` set.
fn step(fed: &Fed, changes: Vec<SignedChange>, more: bool) -> Vec<u8> {
    Message::Step(Step {
        network: network_tag(&fed.genesis().network_id().0),
        ranges: Vec::new(),
        have: Vec::new(),
        want: Vec::new(),
        changes,
        held: Vec::new(),
        fetch: Vec::new(),
        more,
        parts: Vec::new(),
        need: Vec::new(),
    })
    .to_bytes()
}

#[test]
fn a_peer_that_says_more_on_every_step_gets_a_bounded_chain_of_rounds() {
    // Goal: rounds cut short (`more`) are followed at once by another, but at most
    // `chained_rounds_max` times; then the session waits for the next tick (the node's driver
    // chained without limit before).
    let fed = Fed::new();
    let mut h = host(&fed);
    let mut s = Session::new(fed.district.device_id(), PeerState::default(), config());
    s.handle(&mut h, 0, Event::Tick);
    let mut opened = sends(&outputs(&mut s));
    for t in 1..20 {
        s.handle(&mut h, t, Event::Response(&step(&fed, Vec::new(), true)));
        opened += sends(&outputs(&mut s));
    }
    assert_eq!(opened, 1 + 3, "the opening round and three chained");
    assert!(!s.in_round());
    s.handle(&mut h, 100, Event::Tick);
    assert_eq!(sends(&outputs(&mut s)), 1, "the next tick goes on");
}

#[test]
fn a_stranger_or_another_network_is_refused_before_anything_is_ingested() {
    // Goal: the session checks membership and the network tag before it hands any change to the
    // host; the answer is a refusal.
    let mut fed = Fed::new();
    let change = fed.create_item("ITEM-9");
    let mut h = host(&Fed::new());
    let mut stranger = Session::new(fed.stranger.device_id(), PeerState::default(), config());
    let handled = stranger.handle(
        &mut h,
        0,
        Event::Request(&step(&fed, vec![change.clone()], false)),
    );
    assert!(handled.refused && !handled.applied);
    assert!(matches!(
        outputs(&mut stranger).as_slice(),
        [Output::Respond(bytes)] if matches!(Message::from_bytes(bytes, &Default::default()), Ok(Message::Refused { .. }))
    ));
    // A member speaking another network's tag.
    let other = hallsync_model::Genesis {
        key: key(99).device_id(),
    };
    let mut member = Session::new(fed.district.device_id(), PeerState::default(), config());
    let mut foreign = step(&fed, vec![change], false);
    let Ok(Message::Step(mut s)) = Message::from_bytes(&foreign, &Default::default()) else {
        unreachable!()
    };
    s.network = network_tag(&other.network_id().0);
    foreign = Message::Step(s).to_bytes();
    let handled = member.handle(&mut h, 0, Event::Request(&foreign));
    assert!(handled.refused);
    assert_eq!(h.ingested, 0, "nothing was ingested");
}

#[test]
fn a_lost_round_is_retried_and_news_during_a_round_runs_another_after_it() {
    // Goal: a request that fails (or times out) ends the round and a new one opens after the
    // retry wait; news while a round runs is pushed by a round right after it; news while idle
    // opens a round after the push delay.
    let fed = Fed::new();
    let mut h = host(&fed);
    let mut s = Session::new(fed.district.device_id(), PeerState::default(), config());
    s.handle(&mut h, 0, Event::Tick);
    assert_eq!(sends(&outputs(&mut s)), 1);
    s.handle(&mut h, 5, Event::RequestFailed);
    assert!(!s.in_round());
    assert_eq!(s.wake_at(), Some(1_005), "retried after retry_ms");
    s.handle(&mut h, 1_005, Event::Timer);
    assert_eq!(sends(&outputs(&mut s)), 1, "the retry");
    // No answer within the round timeout: the deadline fails it.
    assert_eq!(s.wake_at(), Some(11_005));
    s.handle(&mut h, 11_005, Event::Timer);
    assert!(!s.in_round());
    s.handle(&mut h, 12_005, Event::Timer);
    assert_eq!(sends(&outputs(&mut s)), 1, "retried again");
    // News meanwhile: another round once this one ends.
    s.handle(&mut h, 12_100, Event::News);
    s.handle(
        &mut h,
        12_200,
        Event::Response(&step(&fed, Vec::new(), false)),
    );
    let out = outputs(&mut s);
    assert!(out.contains(&Output::SaveState));
    assert_eq!(sends(&out), 1, "the round after the news");
    s.handle(
        &mut h,
        12_300,
        Event::Response(&step(&fed, Vec::new(), false)),
    );
    assert_eq!(sends(&outputs(&mut s)), 0);
    // News while idle: a round after the push delay.
    s.handle(&mut h, 20_000, Event::News);
    assert_eq!(sends(&outputs(&mut s)), 0);
    assert_eq!(s.wake_at(), Some(20_500));
    s.handle(&mut h, 20_500, Event::Timer);
    assert_eq!(sends(&outputs(&mut s)), 1);
}

#[test]
fn two_sessions_bring_two_replicas_to_the_same_state() {
    // Goal: the sessions' rounds, driven message by message, converge two replicas as the memory
    // harness and the node do.
    let mut fed = Fed::new();
    for i in 0..30 {
        fed.create_item(&format!("ITEM-{i}"));
    }
    let mut a = host(&fed);
    let mut b = TestHost {
        replica: fresh(&fed),
        ingested: 0,
    };
    b.replica.ingest(fed.log[..fed.log.len() - 30].to_vec());
    let city = fed.city.device_id();
    let mut sa = Session::new(city, PeerState::default(), config());
    let mut sb = Session::new(city, PeerState::default(), config());
    sb.handle(&mut b, 0, Event::Tick);
    for t in 1..50 {
        if !deliver(&mut sb, &mut b, &mut sa, &mut a, t) {
            break;
        }
    }
    assert_eq!(b.replica.state_digest(), a.replica.state_digest());
    assert_eq!(b.ingested, 30);
    // Goal (issue #12): the session says what the last round moved, and a round that moves nothing
    // says the two are in sync; the shared digests then agree.
    let stats = sb.stats();
    assert_eq!(stats.changes_received, 30);
    assert!(stats.rounds_completed >= 1 && !stats.in_sync, "{stats:?}");
    sb.handle(&mut b, 100, Event::Tick);
    deliver(&mut sb, &mut b, &mut sa, &mut a, 100);
    let stats = sb.stats();
    assert!(stats.in_sync, "{stats:?}");
    assert_eq!(stats.last_completed_ms, Some(100));
    assert_eq!(
        b.replica.shared_digest(&city),
        a.replica.shared_digest(&city)
    );
}

#[test]
fn a_round_cut_short_by_a_bound_says_the_session_is_catching_up() {
    // Goal (issue #12): during a first sync that does not fit one round, the session says it is
    // catching up (the node prints a progress line for each such round) until a round ends whole.
    let mut fed = Fed::new();
    for i in 0..30 {
        fed.create_item(&format!("ITEM-{i}"));
    }
    let mut a = host(&fed);
    let mut b = TestHost {
        replica: fresh(&fed),
        ingested: 0,
    };
    let city = fed.city.device_id();
    let small = SessionConfig {
        limits: hallsync_model::sync::wire::WireLimits {
            changes_per_message_max: 4,
            ..Default::default()
        },
        chained_rounds_max: 0,
        ..config()
    };
    let mut sa = Session::new(city, PeerState::default(), small);
    let mut sb = Session::new(city, PeerState::default(), small);
    let mut seen_catching_up = false;
    for t in 0..200 {
        sb.handle(&mut b, t * 10, Event::Tick);
        deliver(&mut sb, &mut b, &mut sa, &mut a, t * 10);
        seen_catching_up |= sb.stats().catching_up;
        if sb.stats().in_sync {
            break;
        }
    }
    assert!(
        seen_catching_up,
        "a bounded first sync catches up over rounds"
    );
    assert!(sb.stats().in_sync && !sb.stats().catching_up);
    assert_eq!(b.replica.state_digest(), a.replica.state_digest());
}
