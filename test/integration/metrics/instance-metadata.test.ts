import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InstanceMetadataError, imdsV2Client } from '../../../ec2/metrics/instance-metadata';

/** A stand-in for the EC2 metadata service on 127.0.0.1 that, like IMDSv2 when required, refuses tokenless reads. */
function fakeImds(values: Record<string, string>) {
  const requests: string[] = [];
  const issued = new Set<string>();
  let tokens = 0;
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return res.writeHead(400).end();
      tokens += 1;
      const token = `token-${tokens}`;
      issued.add(token);
      return res.end(token);
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (typeof token !== 'string' || !issued.has(token)) return res.writeHead(401).end();
    const value = values[(req.url ?? '').replace('/latest/meta-data/', '')];
    if (value === undefined) return res.writeHead(404).end();
    return res.end(value);
  });
  return { server, requests, revokeTokens: () => issued.clear() };
}

describe('imdsV2Client', () => {
  const imds = fakeImds({
    'instance-id': 'i-0123456789abcdef0',
    'tags/instance/aws:autoscaling:groupName': 'cloudy-dev-web',
  });
  let endpoint = '';

  before(async () => {
    imds.server.listen(0, '127.0.0.1');
    await once(imds.server, 'listening');
    endpoint = `http://127.0.0.1:${(imds.server.address() as AddressInfo).port}`;
  });

  after(() => {
    imds.server.close();
  });

  beforeEach(() => {
    imds.requests.length = 0;
  });

  it('reads with a session token, fetched once for several reads', async () => {
    // Act
    const metadata = imdsV2Client({ endpoint });

    // Assess
    assert.equal(await metadata.get('instance-id'), 'i-0123456789abcdef0');
    assert.equal(await metadata.get('tags/instance/aws:autoscaling:groupName'), 'cloudy-dev-web');
    assert.deepEqual(imds.requests, [
      'PUT /latest/api/token',
      'GET /latest/meta-data/instance-id',
      'GET /latest/meta-data/tags/instance/aws:autoscaling:groupName',
    ]);
  });

  it('answers undefined for a path the service does not have', async () => {
    assert.equal(await imdsV2Client({ endpoint }).get('tags/instance/Name'), undefined);
  });

  it('fetches a new token when the service no longer accepts the old one', async () => {
    // Act
    const metadata = imdsV2Client({ endpoint });
    await metadata.get('instance-id');
    imds.revokeTokens();

    // Assess
    assert.equal(await metadata.get('instance-id'), 'i-0123456789abcdef0');
    assert.equal(imds.requests.filter((request) => request.startsWith('PUT')).length, 2);
  });

  it('fails with a named error when nothing listens', async () => {
    // Prepare
    const closed: Server = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    // Act / Assess
    await assert.rejects(
      imdsV2Client({ endpoint: `http://127.0.0.1:${port}` }).get('instance-id'),
      InstanceMetadataError,
    );
  });
});
