"""Waits until storage holds at least N parts of the upload `uploadgate upload`
is sending, then prints how many it holds. Run by bench/upload.sh.

    stored_parts.py API TOKEN STATE_DIR N PID

The upload's id comes from the CLI's resume state in STATE_DIR; the parts
storage holds from `uploadedParts` in `GET /v1/uploads/{id}`, which asks
storage. Gives up when the upload's process PID has ended, or after 10 minutes.
"""

import json
import sys
import time
import urllib.request
from pathlib import Path

api, token, state_dir, wanted, pid = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
deadline = time.monotonic() + 600


def upload_id():
    for path in state_dir.glob("*.json"):
        try:
            return json.loads(path.read_text())["uploadId"]
        except (OSError, ValueError, KeyError):
            pass  # Being written.
    return None


while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
    found = upload_id()
    if found:
        request = urllib.request.Request(f"{api}/v1/uploads/{found}", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request) as response:
            held = len(json.load(response).get("uploadedParts") or [])
        if held >= wanted:
            print(held)
            sys.exit(0)
    time.sleep(0.1)
sys.exit("the upload ended, or storage never held the parts asked for")
