-- rotate.lua: the one wrk script of sigil's HTTP benchmark (test/bench).
--
--   wrk ... -s rotate.lua URL -- VALUES METHOD BODY THREADS [HEADER ...]
--
-- VALUES is a file with one value per line (a token, a subject, ...). BODY
-- ("-" for none) and each HEADER ("Name: value") are templates in which every
-- "{}" is replaced by a value. Requests rotate over the lines; thread k of
-- THREADS starts at line k*n/THREADS so threads do not send the same value at
-- the same time. All requests are formatted once in init(), so the per-request
-- cost is one table lookup, the same for every scenario. No response()
-- callback is defined: wrk then does not hand responses to Lua.

local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local function subst(tpl, v)
  local out, i = {}, 1
  while true do
    local s, e = string.find(tpl, "{}", i, true)
    if not s then break end
    out[#out + 1] = string.sub(tpl, i, s - 1)
    out[#out + 1] = v
    i = e + 1
  end
  out[#out + 1] = string.sub(tpl, i)
  return table.concat(out)
end

local reqs, n, idx = {}, 0, 0

function init(args)
  local file, method, body, threads = args[1], args[2], args[3], tonumber(args[4])
  if not file or not method or not body or not threads then
    error("usage: -- VALUES METHOD BODY THREADS [HEADER ...]")
  end
  local hdrs = {}
  for i = 5, #args do
    local name, val = string.match(args[i], "^([^:]+):%s*(.*)$")
    if not name then error("bad header template: " .. args[i]) end
    hdrs[#hdrs + 1] = { name, val }
  end
  for line in io.lines(file) do
    if line ~= "" then
      local headers = {}
      for _, h in ipairs(hdrs) do
        headers[h[1]] = subst(h[2], line)
      end
      local b = nil
      if body ~= "-" then b = subst(body, line) end
      n = n + 1
      reqs[n] = wrk.format(method, nil, headers, b)
    end
  end
  if n == 0 then error("no values in " .. file) end
  idx = math.floor((tid or 0) * n / threads) % n
end

function request()
  idx = idx + 1
  if idx > n then idx = 1 end
  return reqs[idx]
end
