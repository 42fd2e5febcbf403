-- Walks pre-built raw requests (NUL-separated, from bench/make_requests.py), one after another, and
-- prints the run's figures as one JSON line. No response() hook: copying every response into Lua
-- would cost a few percent; wrk's own status error count (status > 399) is free.
-- Usage: wrk -t1 -cN -dS -s walk.lua URL -- REQUEST_FILE

local pool = {}
local count = 0
local index = 0
wraps = 0

function init(args)
    local file = assert(io.open(args[1], "rb"))
    local data = file:read("*a")
    file:close()
    for r in data:gmatch("([^%z]+)") do
        count = count + 1
        pool[count] = r
    end
    assert(count > 0, "no requests in " .. args[1])
end

function request()
    index = index + 1
    if index > count then
        index = 1
        wraps = wraps + 1
    end
    return pool[index]
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function done(summary, latency, requests)
    local w = 0
    for _, t in ipairs(threads) do w = w + (t:get("wraps") or 0) end
    local e = summary.errors
    io.write(string.format(
        'WRKJSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
        '"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"wraps":%d}\n',
        summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(99), latency.max, latency.mean, w))
end
