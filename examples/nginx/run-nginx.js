'use strict';
// Runs nginx with nginx.conf.template in front of the node:cluster example,
// with its pid file, logs and temporary files in a fresh temporary directory
// (its prefix), so it needs neither root nor /var. Stops nginx gracefully on
// SIGINT and SIGTERM and removes the directory; exit code 0.
//
//   PORT=3000 METRICS_PORT=9464 node examples/cluster/primary.js &
//   node examples/nginx/run-nginx.js
//
// Environment: PUBLIC_HOST (default 0.0.0.0) and PUBLIC_PORT (default 8080):
// the public server; NGINX_METRICS_PORT (default 9101): the metrics server,
// always on 127.0.0.1; APP_UPSTREAM (default 127.0.0.1:3000) and
// EXPORTER_UPSTREAM (default 127.0.0.1:9464): the app and the exporter;
// NGINX: the nginx binary (default: nginx from PATH, or /usr/sbin/nginx).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const settings = {
  PUBLIC_HOST: process.env.PUBLIC_HOST || '0.0.0.0',
  PUBLIC_PORT: process.env.PUBLIC_PORT || '8080',
  NGINX_METRICS_PORT: process.env.NGINX_METRICS_PORT || '9101',
  APP_UPSTREAM: process.env.APP_UPSTREAM || '127.0.0.1:3000',
  EXPORTER_UPSTREAM: process.env.EXPORTER_UPSTREAM || '127.0.0.1:9464',
};
const READY_TIMEOUT_MS = 10_000;

/** nginx from PATH, else Debian's /usr/sbin (often not in a user's PATH). */
function findNginx() {
  if (process.env.NGINX) return process.env.NGINX;
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat('/usr/sbin', '/usr/local/sbin');
  return dirs.map((dir) => path.join(dir, 'nginx')).find((file) => fs.existsSync(file));
}

/** The template with every ${NAME} replaced; nginx's own $variables are left alone. */
function renderConfig(template) {
  return template.replace(/\$\{([A-Z_]+)\}/g, (_, name) => {
    if (!(name in settings)) throw new Error(`nginx.conf.template: unknown placeholder \${${name}}`);
    return settings[name];
  });
}

function canConnect(port, host) {
  return new Promise((resolve) => {
    const socket = net.connect({ port: Number(port), host }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function tail(file) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no error log)';
  }
}

async function main() {
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is not installed (Debian: apt-get install nginx), or set NGINX to its path');
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-multiproc-nginx-'));
  // When the master runs as root its workers run as nobody, and they write the proxy temporary files here.
  fs.chmodSync(prefix, 0o755);
  const removePrefix = () => fs.rmSync(prefix, { recursive: true, force: true });
  const errorLog = path.join(prefix, 'error.log');
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), renderConfig(fs.readFileSync(path.join(__dirname, 'nginx.conf.template'), 'utf8')));

  // -e: the log for errors found before the configuration is read; -p: the prefix of every relative path.
  const child = spawn(nginx, ['-p', `${prefix}/`, '-c', 'nginx.conf', '-e', errorLog], { stdio: ['ignore', 'inherit', 'inherit'] });
  let stopping = false;
  let failed = false;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.once('error', (err) => {
    console.error(`cannot run ${nginx}: ${err.message}`);
    removePrefix();
    process.exit(1);
  });
  void exited.then(({ code, signal }) => {
    removePrefix();
    if (stopping && !failed) {
      console.log(`nginx stopped; removed ${prefix}`);
      process.exit(0);
    }
    console.error(`nginx exited (code ${code}, signal ${signal}); its error log:\n${tail(errorLog)}`);
    process.exit(1);
  });
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping nginx (pid ${child.pid})`);
    // SIGQUIT: a graceful stop, requests under way finish. After Ctrl-C nginx may be gone already.
    try {
      child.kill('SIGQUIT');
    } catch {
      // exited meanwhile
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const publicHost = settings.PUBLIC_HOST === '0.0.0.0' ? '127.0.0.1' : settings.PUBLIC_HOST;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!((await canConnect(settings.PUBLIC_PORT, publicHost)) && (await canConnect(settings.NGINX_METRICS_PORT, '127.0.0.1')))) {
    if (child.exitCode !== null || child.signalCode !== null || stopping) return;
    if (Date.now() > deadline) {
      console.error(`nginx did not listen within ${READY_TIMEOUT_MS} ms; its error log:\n${tail(errorLog)}`);
      failed = true;
      stop('timeout');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  console.log(`nginx (pid ${child.pid}) with prefix ${prefix}`);
  console.log(`public: http://${settings.PUBLIC_HOST}:${settings.PUBLIC_PORT}/ -> app at ${settings.APP_UPSTREAM}`);
  console.log(`metrics: http://127.0.0.1:${settings.NGINX_METRICS_PORT}/metrics -> exporter at ${settings.EXPORTER_UPSTREAM}`);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
