import { PassThrough, type Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { settingsEnv } from '../config';
import { SourceConfigError, type ByteRange, type Source, type SourceFile } from './index';

/**
 * An S3 (or S3-compatible: MinIO, LocalStack, moto) source, `s3://bucket/prefix`. Credentials, region and
 * endpoint come from the worker's environment through the AWS SDK's usual chain (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles; AWS_REGION; AWS_ENDPOINT_URL_S3), never from the URL
 * or the workflow input.
 */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/i.exec(url);
  if (!m) throw new SourceConfigError(`"${url}" is not an S3 URL such as s3://bucket/prefix`);
  const prefix = (m[2] ?? '').replace(/^\/+/, '');
  return { bucket: m[1] as string, prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix };
}

const clients = new Map<string, S3Client>();

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The S3 client's settings, from the environment over the SPARKIFY_CONFIG file; credentials not set there
 * come from the SDK's chain (profile, instance role, ...).
 */
export function s3ClientOptions(env: Env = settingsEnv()): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || '';
  const accessKeyId = env.AWS_ACCESS_KEY_ID || '';
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY || '';
  const sessionToken = env.AWS_SESSION_TOKEN || undefined;
  return {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
  };
}

/** One client per process (and settings): it pools its connections. */
export function s3Client(env: Env = settingsEnv()): S3Client {
  const options = s3ClientOptions(env);
  const key = JSON.stringify(options);
  let client = clients.get(key);
  if (!client) {
    client = new S3Client(options);
    clients.set(key, client);
  }
  return client;
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

export class S3Source implements Source {
  constructor(
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly client: S3Client,
  ) {}

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const code = status(err);
      if (code === 404) throw new SourceConfigError(`S3 bucket "${this.bucket}" does not exist: check SOURCE_URL`);
      if (code === 403) {
        throw new SourceConfigError(
          `access to S3 bucket "${this.bucket}" is denied: check the worker's AWS credentials and the bucket policy`,
        );
      }
      throw err;
    }
  }

  async stat(key: string): Promise<SourceFile | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return { key, size: head.ContentLength ?? 0, version: head.ETag ?? `${head.ContentLength}` };
    } catch (err) {
      if (status(err) === 404 || (err instanceof S3ServiceException && err.name === 'NotFound')) return null;
      throw err;
    }
  }

  async *listSongFiles(): AsyncIterable<SourceFile> {
    let token: string | undefined;
    let any = false;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}song_data/`, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key?.endsWith('.json')) continue;
        any = true;
        yield { key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, version: o.ETag ?? `${o.Size}` };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (!any) throw new SourceConfigError(`no song files under ${this.location}song_data/: is SOURCE_URL right?`);
  }

  async *listEventFiles(): AsyncIterable<SourceFile> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}log_data/`, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key?.endsWith('.json')) continue;
        yield { key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, version: o.ETag ?? `${o.Size}` };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  openStream(key: string): Readable {
    const out = new PassThrough();
    this.client
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))
      .then((res) => {
        const body = res.Body as Readable | undefined;
        if (!body) throw new Error(`empty body for ${this.location}${key}`);
        body.on('error', (e) => out.destroy(e));
        body.pipe(out);
      })
      .catch((e: unknown) => out.destroy(e as Error));
    return out;
  }

  async openRange(key: string, range: ByteRange, version: string): Promise<Readable | undefined> {
    try {
      // If-Match: the object's ETag (SourceFile.version) must still be the one looked at
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Range: `bytes=${range.start}-${range.end - 1}`,
          IfMatch: version,
        }),
      );
      const body = res.Body as Readable | undefined;
      if (!body) throw new Error(`empty body for ${this.location}${key}`);
      return body;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || (err as { name?: string }).name === 'PreconditionFailed') return undefined;
      throw err;
    }
  }

  /** The s3:// URL of a key under this source, as Redshift's COPY names it. */
  url(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }

  async putText(key: string, text: string): Promise<string> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: text,
        ContentType: 'application/json',
      }),
    );
    return this.url(key);
  }

  async readText(key: string): Promise<string> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    if (!res.Body) throw new Error(`empty body for ${this.location}${key}`);
    return res.Body.transformToString('utf8');
  }

  async readBytes(key: string): Promise<Buffer> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    if (!res.Body) throw new Error(`empty body for ${this.location}${key}`);
    return Buffer.from(await res.Body.transformToByteArray());
  }
}
