-- wrk's script for the gateway benchmark (bench/lib/wrk.ts runs it): every request is the same
-- POST of a ~100-byte JSON body, as a client of a model server sends features; at the end one
-- JSON line gives the counts and the latency percentiles in microseconds.
--
-- TENURE_WRK_RATE (requests per second over all connections) turns on a fixed rate: each
-- connection waits an exponentially distributed time (mean CONNECTIONS / RATE) before each
-- request, so arrivals are spread out rather than sent in bursts. wrk counts delays in whole
-- milliseconds, so each draw is rounded up or down at random to keep its mean. The wait comes
-- on top of each answer's latency, so the rate reached is a little below the one asked for
-- (the bench reports it).

wrk.method = "POST"
wrk.body = '{"features":{"amount":129.5,"merchant":"m-4411","hour":13,"country":"DE","card_age_days":412}}'
wrk.headers["Content-Type"] = "application/json"

local rate = tonumber(os.getenv("TENURE_WRK_RATE") or "0") or 0
local connections = tonumber(os.getenv("TENURE_WRK_CONNECTIONS") or "1") or 1

if rate > 0 then
  local mean_ms = connections * 1000 / rate
  delay = function()
    local ms = -mean_ms * math.log(1 - math.random())
    local whole = math.floor(ms)
    if math.random() < ms - whole then
      whole = whole + 1
    end
    return whole
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"non2xx":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
