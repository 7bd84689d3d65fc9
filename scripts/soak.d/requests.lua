-- wrk script for scripts/soak: every request is the next of a cycle of
-- valid and malformed requests to the example server, and every response's
-- status is counted (printed by done() as "status NNN: COUNT").
--
-- Arguments (after `--`): an access token, then the Basic credentials
-- (base64) of svc (client_credentials), rs (introspection) and web
-- (authorization_code, refresh_token).

local token, svc, rs, web

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- Base64 of a short string, for made-up Basic credentials.
local function b64(data)
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do
      r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0")
    end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do
      c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0)
    end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local function with(headers, extra)
  local out = {}
  for k, v in pairs(headers) do out[k] = v end
  for k, v in pairs(extra) do out[k] = v end
  return out
end

local huge = string.rep("scope=read&", 10000)
local variants

function init(args)
  token, svc, rs, web = args[1], args[2], args[3], args[4]
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  variants = {
    -- valid
    function() return wrk.format("POST", "/oauth/token", with(form, { Authorization = "Basic " .. svc }), "grant_type=client_credentials&scope=read") end,
    function() return wrk.format("POST", "/oauth/introspect", with(form, { Authorization = "Basic " .. rs }), "token=" .. token) end,
    function() return wrk.format("GET", "/api/me", { Authorization = "Bearer " .. token }) end,
    function() return wrk.format("GET", "/healthz") end,
    -- malformed
    function() return wrk.format("POST", "/oauth/token", with(form, { Authorization = "Basic " .. svc }), "grant_type=client_credentials&grant_type=client_credentials") end,
    function() return wrk.format("POST", "/oauth/token", with(form, { Authorization = "Basic !!!not-base64" }), "grant_type=client_credentials") end,
    function() return wrk.format("POST", "/oauth/token", { ["Content-Type"] = "application/json", Authorization = "Basic " .. svc }, '{"grant_type":"client_credentials"}') end,
    function() return wrk.format("POST", "/oauth/token", with(form, { Authorization = "Basic " .. svc }), huge) end,
    function() return wrk.format("POST", "/oauth/token", with(form, { Authorization = "Basic " .. svc }), "grant_type=client_credentials&scope=\255\254%FF%C3%28") end,
    function() return wrk.format("POST", "/oauth/token", with(form, { Authorization = "Basic " .. svc }), "grant_type=urn:example:unknown") end,
    -- unknown client ids, each one new: the limiter's table must stay bounded
    function()
      local id = "spray-" .. math.random(1, 1000000000)
      return wrk.format("POST", "/oauth/token", with(form, { Authorization = "Basic " .. b64(id .. ":guess") }), "grant_type=client_credentials")
    end,
    -- wrong secrets over a pool of ids (client_secret_post): they get locked out (429)
    function()
      local id = "pool-" .. math.random(1, 500)
      return wrk.format("POST", "/oauth/token", form, "grant_type=client_credentials&client_id=" .. id .. "&client_secret=guess")
    end,
    function() return wrk.format("POST", "/oauth/token", with(form, { Authorization = "Basic " .. web }), "grant_type=authorization_code&code=made-up-" .. math.random(1, 1000000000) .. "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code_verifier=" .. string.rep("v", 43)) end,
    function() return wrk.format("GET", "/api/me", { Authorization = "Bearer not-a-token" }) end,
    function() return wrk.format("POST", "/oauth/token", with(form, { Authorization = "Basic " .. web }), "grant_type=refresh_token&refresh_token=made-up") end,
    function() return wrk.format("POST", "/oauth/revoke", with(form, { Authorization = "Basic " .. rs }), "token=made-up") end,
  }
end

local n = 0
statuses = {}

function request()
  n = n + 1
  return variants[(n - 1) % #variants + 1]()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local keys = {}
  for status in pairs(total) do table.insert(keys, status) end
  table.sort(keys)
  for _, status in ipairs(keys) do
    io.write(string.format("status %d: %d\n", status, total[status]))
  end
end
