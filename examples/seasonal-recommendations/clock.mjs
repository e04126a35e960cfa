// Loaded into each `tenure` process of the replay with `node --import`: sets the process's clock
// to REPLAY_NOW, as if the command ran on that day, and lets time pass from there. A sweep dated
// after the clock (`tenure sweep --at` a future day) is only a preview, so a replay of days to
// come moves the clock instead, and every event is dated when the command "ran".
const target = Date.parse(process.env.REPLAY_NOW ?? "");
if (!Number.isNaN(target)) {
  const RealDate = Date;
  const offset = target - RealDate.now();
  globalThis.Date = class ReplayDate extends RealDate {
    constructor(...args) {
      super(...(args.length === 0 ? [RealDate.now() + offset] : args));
    }
    static now() {
      return RealDate.now() + offset;
    }
  };
}
