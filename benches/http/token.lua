-- wrk script of scripts/bench-http: a client_credentials token request with
-- HTTP Basic, and a machine-readable summary for the script to parse.
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
-- bench:bench-secret, the client scripts/bench-http seeds.
wrk.headers["Authorization"] = "Basic YmVuY2g6YmVuY2gtc2VjcmV0"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
end
