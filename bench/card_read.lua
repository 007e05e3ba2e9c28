-- wrk script of bench/card_read_bench.py: GET card hints at a fixed total rate, each request with its own one-time
-- token. Arguments after `--`: <file of "path<TAB>token" lines> <requests per second in all> <wrk threads> <Origin>.
--
-- Pacing: delay() hands each connection that is free the thread's next send slot (slots `threads / rate` apart), so
-- the total is `rate` whatever the latency. wrk times a request from the moment it is sent, not from its slot, so
-- the script reports what would hide latency: slots already past when a connection became free for them ("queued":
-- every connection was busy, or wrk was not scheduled), and sends later than their slot by more than wrk's
-- whole-millisecond timers explain.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } card_read_timespec;
int clock_gettime(int clock_id, card_read_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local LATE_MS = 2.0 -- delay() rounds up to whole ms, and wrk's timers fire on whole ms
local clock = ffi.new("card_read_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local count = tonumber(args[3])
  interval = 1000 * count / tonumber(args[2]) -- ms between this thread's slots
  offset = id * 1000 / tonumber(args[2]) -- threads interleave their slots
  work, next_work, n = {}, 1, 0
  for line in io.lines(args[1]) do
    if n % count == id then
      local path, token = line:match("^(%S+)\t(%S+)$")
      work[#work + 1] = wrk.format("GET", path, { ["X-Auth-Token"] = token, ["Origin"] = args[4] })
    end
    n = n + 1
  end
  slots, first_slot, last_slot, next_due = {}, 1, 0, nil
  statuses, sent, queued, late, worst_late_ms, exhausted = {}, 0, 0, 0, 0, 0
end

function delay()
  local now = now_ms()
  next_due = next_due or (now + 100 + offset)
  last_slot = last_slot + 1
  slots[last_slot] = next_due
  if next_due < now then queued = queued + 1 end
  next_due = next_due + interval
  return math.max(0, math.ceil(slots[last_slot] - now))
end

function request()
  local due = slots[first_slot]
  if due then -- wrk also calls request() once at start-up to check it: that call has no slot and is not sent
    slots[first_slot], first_slot = nil, first_slot + 1
    local lateness = now_ms() - due
    sent = sent + 1
    if lateness > LATE_MS then late = late + 1 end
    if lateness > worst_late_ms then worst_late_ms = lateness end
  end
  local item = work[next_work]
  if not item then -- out of tokens: resend the last one (a replay, answered 401) and say so
    exhausted = exhausted + 1
    return work[#work]
  end
  next_work = next_work + 1
  return item
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local codes, sent_all, queued_all, late_all, worst, exhausted_all = {}, 0, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do codes[code] = (codes[code] or 0) + count end
    sent_all = sent_all + thread:get("sent")
    queued_all = queued_all + thread:get("queued")
    late_all = late_all + thread:get("late")
    worst = math.max(worst, thread:get("worst_late_ms"))
    exhausted_all = exhausted_all + thread:get("exhausted")
  end
  for code, count in pairs(codes) do io.write(string.format("STATUS %d %d\n", code, count)) end
  local e = summary.errors
  io.write(string.format("ERRORS %d %d %d %d\n", e.connect, e.read, e.write, e.timeout))
  io.write(string.format("PACING %d %d %d %.3f %d\n", sent_all, queued_all, late_all, worst, exhausted_all))
  io.write(string.format("LATENCY_US %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
