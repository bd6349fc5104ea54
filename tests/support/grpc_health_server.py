"""A gRPC server for the tests: the standard health service (grpcio-health-checking) on
127.0.0.1:PORT, or, with --no-health, a server without it. Lines on stdin change a service's
status: `SERVICE STATUS` (STATUS one of SERVING, NOT_SERVING, UNKNOWN; `-` names the whole
server). Prints `listening NANOS` (wall clock) once it serves."""

import argparse
import sys
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("--no-health", action="store_true")
ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
args = ap.parse_args()

server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
servicer = health.HealthServicer()
if not args.no_health:
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
address = f"127.0.0.1:{args.port}"
if args.tls:
    cert, key = (open(p, "rb").read() for p in args.tls)
    server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
else:
    server.add_insecure_port(address)
server.start()
# The moment it serves, for the benchmark (its port is bound, not yet served, a little earlier).
print("listening", time.time_ns(), flush=True)
for line in sys.stdin:
    name, status = line.split()
    servicer.set("" if name == "-" else name, getattr(health_pb2.HealthCheckResponse, status))
# stdin closed: serve until killed.
server.wait_for_termination()
