//! The bus contract, run against the in-process bus.

lianluo_events::bus_conformance_tests!(lianluo_events::InProcessBus::new(64));
