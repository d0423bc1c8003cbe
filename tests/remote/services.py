"""Storage services on 127.0.0.1 for the remote-storage tests; fixtures start and stop them.

- ``S3Server``: moto's S3 in this process, with credentials and signatures checked.
- ``HttpServer``: a directory over HTTP with what object_store's HttpStore uses to read
  (``GET``/``HEAD`` with ``Range``, WebDAV ``PROPFIND``).
- ``HdfsCluster``: Hadoop's MiniDFSCluster (``hdfs/``), one NameNode and one DataNode.
- ``s3a_jars`` / ``spark_submit_s3a``: Spark writing to S3 through ``s3a://`` (``s3a/``).
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
HDFS_PROJECT = HERE / 'hdfs'
S3A_PROJECT = HERE / 's3a'


# ---------------------------------------------------------------- S3 (moto)

class S3Server:
    """moto's S3 server on 127.0.0.1 and a free port, in a thread of this process.

    moto accepts any credentials unless its IAM auth mode is on: ``INITIAL_NO_AUTH_ACTION_COUNT``
    (environment variable read when moto is imported, or ``POST /moto-api/reset-auth`` with the
    count as body) makes moto check every request after that many. A checked request needs an
    access key of an IAM user, a SigV4 signature made with that key's secret, and a policy of
    the user allowing the action. The constructor creates such a user (allowed ``s3:*``) while
    checks are off, then turns them on; ``stop`` turns them off again (the setting is global
    to moto in this process).
    """

    region = 'us-east-1'
    user = 'petastorm-tests'

    def __init__(self):
        from moto.server import ThreadedMotoServer
        self._server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f'http://{host}:{port}'
        iam = self._client('iam', 'unchecked', 'unchecked')
        iam.create_user(UserName=self.user)
        iam.put_user_policy(UserName=self.user, PolicyName='s3-all', PolicyDocument=json.dumps({
            'Version': '2012-10-17',
            'Statement': [{'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}]}))
        access_key = iam.create_access_key(UserName=self.user)['AccessKey']
        self.key = access_key['AccessKeyId']
        self.secret = access_key['SecretAccessKey']
        self._checks_after('0')

    def _checks_after(self, count):
        req = urllib.request.Request(f'{self.endpoint}/moto-api/reset-auth', data=count.encode(),
                                     headers={'Content-Type': 'text/plain'}, method='POST')
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200, resp.read()

    def _client(self, service, key, secret):
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=key, aws_secret_access_key=secret)

    def stop(self):
        self._checks_after('inf')
        self._server.stop()

    def make_bucket(self, name):
        """Creates bucket ``name``; returns its URL ``s3://name``."""
        self._client('s3', self.key, self.secret).create_bucket(Bucket=name)
        return f's3://{name}'

    def storage_options(self):
        """Credentials under fsspec/s3fs names (what upstream's ``storage_options`` takes)."""
        return {'key': self.key, 'secret': self.secret,
                'client_kwargs': {'endpoint_url': self.endpoint, 'region_name': self.region}}

    def object_store_options(self):
        """Credentials under object_store's ``AmazonS3ConfigKey`` names."""
        return {'aws_endpoint': self.endpoint, 'aws_access_key_id': self.key,
                'aws_secret_access_key': self.secret, 'aws_region': self.region,
                'aws_allow_http': 'true'}

    def env(self):
        """The same as environment variables (read by object_store, boto3 and s3fs)."""
        return {'AWS_ACCESS_KEY_ID': self.key, 'AWS_SECRET_ACCESS_KEY': self.secret,
                'AWS_REGION': self.region, 'AWS_DEFAULT_REGION': self.region,
                'AWS_ENDPOINT_URL': self.endpoint, 'AWS_ALLOW_HTTP': 'true'}

    def spark_conf(self):
        """Hadoop s3a settings (``spark.hadoop.fs.s3a.*``) that point ``s3a://`` here."""
        conf = {'endpoint': self.endpoint, 'endpoint.region': self.region,
                'access.key': self.key, 'secret.key': self.secret,
                'path.style.access': 'true', 'connection.ssl.enabled': 'false',
                'aws.credentials.provider':
                    'org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider'}
        return {f'spark.hadoop.fs.s3a.{k}': v for k, v in conf.items()}

    def pyarrow_fs(self, secret=None):
        """A ``pyarrow.fs.S3FileSystem`` on this server (``secret`` overrides the real one)."""
        from pyarrow import fs
        return fs.S3FileSystem(access_key=self.key, secret_key=secret or self.secret,
                               endpoint_override=self.endpoint, scheme='http',
                               region=self.region, retry_strategy=fs.AwsStandardS3RetryStrategy(0))


# ---------------------------------------------------------------- HTTP (WebDAV reads)

_RANGE = re.compile(r'bytes=(\d*)-(\d*)$')


def _byte_range(header, size):
    """``(start, end)`` (end exclusive) of one ``Range: bytes=...`` header; None if unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ('', ''):
        raise ValueError(f'unsupported Range header {header!r}')
    first, last = match.groups()
    if not first:
        start, end = max(size - int(last), 0), size
    else:
        start, end = int(first), size if not last else min(int(last) + 1, size)
    return (start, end) if start < end else None


def _http_date(seconds):
    return formatdate(seconds, usegmt=True)


class _DavHandler(BaseHTTPRequestHandler):
    """GET/HEAD (with single ranges) and PROPFIND (Depth 0, 1, infinity) under ``server.root``."""

    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):
        pass

    def _target(self):
        root = self.server.root
        target = (root / unquote(urlsplit(self.path).path).lstrip('/')).resolve()
        inside = target == root or root in target.parents
        return target if inside and target.exists() else None

    def _reply(self, status, headers=(), body=b''):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        target = self._target()
        if target is None or not target.is_file():
            return self._reply(404)
        stat = target.stat()
        headers = [('Last-Modified', _http_date(stat.st_mtime)), ('Accept-Ranges', 'bytes'),
                   ('ETag', f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"')]
        start, end, status = 0, stat.st_size, 200
        if 'Range' in self.headers:
            try:
                byte_range = _byte_range(self.headers['Range'], stat.st_size)
            except ValueError as e:
                return self._reply(400, body=str(e).encode())
            if byte_range is None:
                return self._reply(416, [('Content-Range', f'bytes */{stat.st_size}')])
            (start, end), status = byte_range, 206
            headers.append(('Content-Range', f'bytes {start}-{end - 1}/{stat.st_size}'))
        with open(target, 'rb') as f:
            f.seek(start)
            body = f.read(end - start)
        self._reply(status, headers, body)

    def do_PROPFIND(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        target = self._target()
        if target is None:
            return self._reply(404)
        depth = self.headers.get('Depth', 'infinity')
        if depth not in ('0', '1', 'infinity'):
            return self._reply(400, body=f'unsupported Depth {depth!r}'.encode())
        entries = [target]
        if target.is_dir() and depth != '0':
            entries += sorted(target.rglob('*') if depth == 'infinity' else target.iterdir())
        body = ('<?xml version="1.0" encoding="utf-8"?>\n<multistatus xmlns="DAV:">'
                + ''.join(self._propstat(p) for p in entries) + '</multistatus>')
        self._reply(207, [('Content-Type', 'application/xml; charset=utf-8')], body.encode())

    def _propstat(self, path):
        stat = path.stat()
        relative = path.relative_to(self.server.root).as_posix()
        href = '/' if relative == '.' else '/' + quote(relative)
        if path.is_dir():
            href = href.rstrip('/') + '/'
            props = '<resourcetype><collection/></resourcetype>'
        else:
            props = (f'<resourcetype/><getcontentlength>{stat.st_size}</getcontentlength>'
                     f'<getetag>"{stat.st_mtime_ns:x}-{stat.st_size:x}"</getetag>')
        return (f'<response><href>{escape(href)}</href><propstat><prop>'
                f'<getlastmodified>{_http_date(stat.st_mtime)}</getlastmodified>{props}'
                '</prop><status>HTTP/1.1 200 OK</status></propstat></response>')


class HttpServer:
    """Serves ``root`` read-only on 127.0.0.1 and a free port; ``url`` is its base URL."""

    def __init__(self, root):
        self._httpd = ThreadingHTTPServer(('127.0.0.1', 0), _DavHandler)
        self._httpd.daemon_threads = True
        self._httpd.root = Path(root).resolve()
        self.url = 'http://127.0.0.1:{}'.format(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


# ---------------------------------------------------------------- HDFS (MiniDFSCluster)

def _maven_build(project, goal, outputs):
    """Runs ``mvn -q goal`` in ``project`` unless ``outputs`` exist for this pom and source.

    The build's inputs are hashed into ``target/inputs.sha256``; a changed pom or source rebuilds.
    """
    digest = hashlib.sha256()
    for path in sorted([project / 'pom.xml', *(project / 'src').rglob('*')]):
        if path.is_file():
            digest.update(path.relative_to(project).as_posix().encode() + b'\0' + path.read_bytes())
    stamp = project / 'target' / 'inputs.sha256'
    if stamp.exists() and stamp.read_text() == digest.hexdigest() and all(p.exists() for p in outputs):
        return
    proc = subprocess.run(['mvn', '-B', '-q', '-f', str(project / 'pom.xml'), goal],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f'mvn {goal} in {project} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    stamp.write_text(digest.hexdigest())


def hdfs_classpath():
    """The launcher's classpath (builds ``hdfs/`` with Maven when needed)."""
    target = HDFS_PROJECT / 'target'
    _maven_build(HDFS_PROJECT, 'compile', [target / 'classes', target / 'classpath.txt'])
    return f'{target / "classes"}{os.pathsep}{(target / "classpath.txt").read_text().strip()}'


class HdfsCluster:
    """A MiniDFSCluster in a child JVM, data under ``base_dir``; ``url`` is ``hdfs://127.0.0.1:PORT``.

    Its output (logs, then the ready line) goes to ``base_dir/launcher.log``.
    """

    READY = 'HDFS_READY '

    def __init__(self, base_dir, timeout=300):
        base_dir = Path(base_dir)
        base_dir.mkdir(parents=True, exist_ok=True)
        self.log = base_dir / 'launcher.log'
        started = time.monotonic()
        with open(self.log, 'wb') as log:
            self._proc = subprocess.Popen(
                ['java', '-Xmx512m', '-cp', hdfs_classpath(), 'petastorm.testing.HdfsLauncher',
                 str(base_dir / 'dfs')], stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
        try:
            self.url = self._wait_ready(started + timeout)
        except BaseException:
            self.stop(grace=5)  # a launcher still starting reads stdin only once ready
            raise
        self.start_seconds = time.monotonic() - started

    def _wait_ready(self, deadline):
        while True:
            for line in self.log.read_text(errors='replace').splitlines():
                if line.startswith(self.READY):
                    return line[len(self.READY):].strip()
            if self._proc.poll() is not None:
                raise RuntimeError(f'HDFS launcher exited ({self._proc.returncode}):\n{self._log_tail()}')
            if time.monotonic() > deadline:
                raise TimeoutError(f'HDFS not ready in time:\n{self._log_tail()}')
            time.sleep(0.2)

    def _log_tail(self):
        return self.log.read_text(errors='replace')[-6000:]

    def stop(self, grace=30):
        """Closes the launcher's stdin (clean shutdown); kills it after ``grace`` seconds."""
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        elif not self._proc.stdin.closed:
            self._proc.stdin.close()


# ---------------------------------------------------------------- Spark -> s3a

def s3a_jars():
    """The jars ``s3a://`` needs beside Spark's own (resolves ``s3a/`` with Maven when needed)."""
    jars_dir = S3A_PROJECT / 'target' / 'jars'
    _maven_build(S3A_PROJECT, 'package', [jars_dir / 'hadoop-aws-3.4.1.jar'])
    return sorted(jars_dir.glob('*.jar'))


def spark_submit_s3a(s3, script, *args, timeout=600):
    """Runs ``script`` with ``spark-submit`` (``local[2]``) with the s3a jars and ``s3``'s settings.

    Returns the completed process; raises ``RuntimeError`` with its output when it fails.
    """
    spark_submit = Path(sys.executable).parent / 'spark-submit'
    cmd = [str(spark_submit), '--master', 'local[2]', '--driver-memory', '1g',
           '--conf', 'spark.ui.enabled=false',
           '--jars', ','.join(map(str, s3a_jars()))]
    for key, value in s3.spark_conf().items():
        cmd += ['--conf', f'{key}={value}']
    cmd += [str(script), *map(str, args)]
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f'spark-submit {script} failed ({proc.returncode}):\n'
                           f'{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}')
    return proc
