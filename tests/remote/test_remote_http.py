"""The WebDAV-read HTTP service, through urllib and object_store's HttpStore (obstore)."""
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime

import pytest
from obstore.store import HTTPStore

DAV = '{DAV:}'
DATA = bytes(range(256)) * 4


@pytest.fixture
def served(tmp_path, http_server):
    (tmp_path / 'ds' / 'key=a b').mkdir(parents=True)
    (tmp_path / 'ds' / 'key=a b' / 'part-0.parquet').write_bytes(DATA)
    (tmp_path / 'ds' / '_common_metadata').write_bytes(b'meta')
    return http_server(tmp_path)


def request(url, method='GET', **headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers)) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_ranged_get_returns_206_and_exact_bytes(served):
    url = f'{served.url}/ds/key%3Da%20b/part-0.parquet'
    for header, expected in [('bytes=10-19', DATA[10:20]), ('bytes=1000-', DATA[1000:]),
                             ('bytes=-7', DATA[-7:]), ('bytes=1020-5000', DATA[1020:])]:
        status, headers, body = request(url, Range=header)
        assert (status, body) == (206, expected), header
        start = len(DATA) - len(expected) if header.startswith('bytes=-') else int(header[6:].split('-')[0])
        assert headers['Content-Range'] == f'bytes {start}-{start + len(expected) - 1}/{len(DATA)}'
    assert request(url)[::2] == (200, DATA)
    assert request(url, Range='bytes=5000-')[0] == 416
    status, headers, body = request(url, 'HEAD')
    assert (status, headers['Content-Length'], body) == (200, str(len(DATA)), b'')
    assert parsedate_to_datetime(headers['Last-Modified']).tzinfo is not None
    assert request(f'{served.url}/ds/missing', 'HEAD')[0] == 404
    assert request(f'{served.url}/../../etc/passwd')[0] == 404


def propfind(url, depth):
    status, _, body = request(url, 'PROPFIND', Depth=depth)
    assert status == 207
    listing = {}
    for response in ET.fromstring(body).iter(DAV + 'response'):
        prop = response.find(f'{DAV}propstat/{DAV}prop')
        assert response.findtext(f'{DAV}propstat/{DAV}status') == 'HTTP/1.1 200 OK'
        parsedate_to_datetime(prop.findtext(DAV + 'getlastmodified'))
        is_dir = prop.find(f'{DAV}resourcetype/{DAV}collection') is not None
        listing[response.findtext(DAV + 'href')] = 'dir' if is_dir else int(prop.findtext(DAV + 'getcontentlength'))
    return listing


def test_propfind_lists_nested_dirs(served):
    assert propfind(f'{served.url}/ds', '1') == {
        '/ds/': 'dir', '/ds/_common_metadata': 4, '/ds/key%3Da%20b/': 'dir'}
    assert propfind(f'{served.url}/ds/', 'infinity') == {
        '/ds/': 'dir', '/ds/_common_metadata': 4, '/ds/key%3Da%20b/': 'dir',
        '/ds/key%3Da%20b/part-0.parquet': len(DATA)}
    assert propfind(f'{served.url}/ds/_common_metadata', '0') == {'/ds/_common_metadata': 4}
    assert request(f'{served.url}/nothing', 'PROPFIND', Depth='1')[0] == 404


def test_object_store_http_client_lists_and_reads(served):
    # object_store refuses plain http unless allowed (ClientOptions::with_allow_http).
    store = HTTPStore.from_url(served.url, client_options={'allow_http': True})
    assert sorted((m['path'], m['size']) for m in store.list('ds').collect()) == [
        ('ds/_common_metadata', 4), ('ds/key=a b/part-0.parquet', len(DATA))]
    listed = store.list_with_delimiter('ds')
    assert listed['common_prefixes'] == ['ds/key=a b']
    assert [m['path'] for m in listed['objects']] == ['ds/_common_metadata']
    assert bytes(store.get_range('ds/key=a b/part-0.parquet', start=100, end=164)) == DATA[100:164]
    assert bytes(store.get('ds/_common_metadata').bytes()) == b'meta'
