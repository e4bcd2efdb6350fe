// Integration tests wait on real brokers and processes; conditions, not timers, decide when they finish, and this
// is only the ceiling for a hook or test that never sees its condition.
jest.setTimeout(180_000);
