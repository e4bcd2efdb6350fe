// The fuzz run waits on 100,000 dead letters on a shared 2-core machine; conditions decide when it ends, and this is
// only the ceiling for one that never comes.
jest.setTimeout(900_000);
