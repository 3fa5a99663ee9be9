# Sourced by scripts/demo.sh and scripts/render-comment.sh: starts moto's
# EC2 emulator on a free loopback port and points the AWS SDK at it.
#
#   start_moto MOTO_SERVER PYTHON LOG
#   make_instance_profile PYTHON NAME   # an IAM instance profile in moto
#   make_server_certificate PYTHON NAME # an IAM server certificate in moto
#
# Sets moto_pid (the caller stops it on exit) and exports AWS_ENDPOINT_URL
# with test credentials; returns 1, with moto's log on stderr, when moto
# does not answer within 30 s.

start_moto() {
    local moto_server="$1" python="$2" log="$3" port
    port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    MOTO_ENABLE_AMI_VALIDATION=true \
        MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true \
        MOTO_ENABLE_KEYPAIR_VALIDATION=true \
        "$moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    moto_pid=$!
    if ! "$python" - "$port" "$moto_pid" <<'PY'; then
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
        sys.exit(0)
    except Exception:
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit(1)  # moto exited
        time.sleep(0.1)
sys.exit(1)
PY
        cat "$log" >&2
        echo "moto did not start on port $port (its log is above)" >&2
        return 1
    fi
    echo "moto (pid $moto_pid) on http://127.0.0.1:$port"
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
    export AWS_ACCESS_KEY_ID=test
    export AWS_SECRET_ACCESS_KEY=test
    export AWS_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
}

# Makes the IAM instance profile NAME (with a role of the same name that EC2
# may assume) in the emulator started by start_moto: the example's db server
# names one, as a real stack would name one of the account's.
make_instance_profile() {
    local python="$1" name="$2"
    "$python" - "$name" <<'PY'
import os, sys, boto3
name = sys.argv[1]
iam = boto3.client("iam", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
iam.create_instance_profile(InstanceProfileName=name)
iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
print(f"instance profile {name} (role {name}) made in the emulator")
PY
}

# Uploads a self-signed server certificate NAME to the emulator's IAM (the
# example's HTTPS listener names it; moto's ACM gives random ARNs, IAM's are
# arn:aws:iam::123456789012:server-certificate/NAME).
make_server_certificate() {
    local python="$1" name="$2"
    "$python" - "$name" <<'PY'
import os, sys, boto3
name = sys.argv[1]
iam = boto3.client("iam", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
iam.upload_server_certificate(
    ServerCertificateName=name,
    CertificateBody="-----BEGIN CERTIFICATE-----\nMIIBdemo\n-----END CERTIFICATE-----\n",
    PrivateKey="-----BEGIN PRIVATE KEY-----\nMIIBdemo\n-----END PRIVATE KEY-----\n",
)
PY
}
