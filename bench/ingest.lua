-- wrk script for the ingestion benchmark: PUT pain logs spread over many patients.
--
-- Arguments (after `--`): tokens file (one "access-token usual-back-pain" line per
-- patient),
-- comma-separated local dates (today first, then back-dated), path prefix, epoch
-- seconds for the first client_updated_at.
--
-- Each wrk thread owns every n-th patient, and request i of a thread writes patient
-- i mod (its patients) on date i div (its patients): a (patient, date) pair comes back
-- only after a full round, with a later client_updated_at, so no write is stale and
-- threads never race on one row. Roughly 1 log in 50 is a flare day, 1 in 100 reports
-- one-leg numbness, 1 in 400 night pain (an urgent same-day red flag).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local tokens = {}
  local pains = {}
  for line in io.lines(args[1]) do
    local token, pain = string.match(line, "(%S+) (%d+)")
    tokens[#tokens + 1] = token
    pains[#pains + 1] = tonumber(pain)
  end
  dates = {}
  for d in string.gmatch(args[2], "[^,]+") do
    dates[#dates + 1] = d
  end
  prefix = args[3]
  base = tonumber(args[4])
  local nthreads = tonumber(args[5])
  mine = {}
  usual = {}
  for i = id + 1, #tokens, nthreads do
    mine[#mine + 1] = tokens[i]
    usual[#usual + 1] = pains[i]
  end
end

-- Back pain near the patient's own usual level (-1..+1), so flares come from the
-- flare flag and the odd bad day, as in life, not from random scores.
local function body(n, pain, stamp)
  local symptoms = "{}"
  if n % 400 == 17 then
    symptoms = '{"night_pain":true}'
  elseif n % 100 == 3 then
    symptoms = '{"one_leg_numbness":true}'
  end
  local flare = (n % 50 == 7) and "true" or "false"
  return string.format(
    '{"back_pain":%d,"leg_pain":%d,"interference":%d,"sleep_quality":%d,"activity_minutes":%d,' ..
    '"steps":%d,"flare":%s,"medications":[{"class":"nsaid"}],"symptoms":%s,"note":null,' ..
    '"client_updated_at":"%s"}',
    math.max(0, math.min(10, pain + n % 3 - 1)), n % 5, n % 7, 10 - n % 6, 20 + n % 40, 3000 + (n * 37) % 7000, flare, symptoms, stamp)
end

function request()
  local n = counter
  counter = counter + 1
  local patient = n % #mine + 1
  local day = math.floor(n / #mine) % #dates + 1
  local millis = n % 1000
  local stamp = os.date("!%Y-%m-%dT%H:%M:%S", base + math.floor(n / 1000)) .. string.format(".%03dZ", millis)
  return wrk.format("PUT", prefix .. dates[day], {
    ["Authorization"] = "Bearer " .. mine[patient],
    ["Content-Type"] = "application/json",
  }, body(n, usual[patient], stamp))
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,' ..
    '"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
