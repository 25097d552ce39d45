"""An embedded local imitation of the Isometric Certify API (`/mrv/v0`), faithful to the published contract,
with SQLite persistence and fault injection. It knows nothing of workbooks.

Demo credentials (they only open the local sandbox):
    client secret: sandbox-demo-client-secret-0001
    access token:  eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJvcmciOiJvcmdfMVNCWERFTU9PUkcwMDAxIiwic2NvcGUiOiJzYW5k
                   Ym94In0.c2FuZGJveC1kZW1vLXNpZ25hdHVyZS0wMDAx   (one line)
"""

from importer.sandbox.app import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET
from importer.sandbox.faults import FaultConfig
from importer.sandbox.server import SandboxServer, serve

__all__ = ["DEMO_ACCESS_TOKEN", "DEMO_CLIENT_SECRET", "FaultConfig", "SandboxServer", "serve"]
