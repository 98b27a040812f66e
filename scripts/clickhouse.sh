#!/usr/bin/env bash
# Starts (or stops) a throwaway ClickHouse server on loopback for the integration tests.
# Usage: scripts/clickhouse.sh start DIR PORT | scripts/clickhouse.sh stop DIR
# The server binary comes from Debian (clickhouse-server, 18.16 on bookworm); it is
# installed when missing so that a clean machine needs nothing but `make test`.
set -euo pipefail

cmd=${1:?start|stop}
dir=${2:?data dir}

install_if_missing() {
	if command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ]; then
		return
	fi
	echo "clickhouse-server not found: installing it from Debian" >&2
	if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
}

case "$cmd" in
start)
	port=${3:?tcp port}
	install_if_missing
	mkdir -p "$dir/data/tmp" "$dir/data/user_files" "$dir/log"
	cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/server.err.log</errorlog><size>100M</size><count>1</count></logger>
    <tcp_port>$port</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>$dir/data/</path>
    <tmp_path>$dir/data/tmp/</tmp_path>
    <user_files_path>$dir/data/user_files/</user_files_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
XML
	cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
    <users>
        <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default>
        <!-- A user with a password, for the tests that prove credentials work and never leak: password "trendwatch-test-clickhouse". -->
        <trendwatch><password_sha256_hex>f078f51926eed0d1e77c19a85086f604519cb4ecfb76dc602904a34760aeeb1d</password_sha256_hex><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></trendwatch>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
	server=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
	"$server" --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
	# 18.16 does not write --pid-file; remember the process ourselves.
	echo $! >"$dir/server.pid"
	for _ in $(seq 1 100); do
		if clickhouse-client --port "$port" --query "SELECT 1" >/dev/null 2>&1; then
			echo "clickhouse-server ready on 127.0.0.1:$port (data in $dir)" >&2
			exit 0
		fi
		sleep 0.2
	done
	echo "clickhouse-server did not start; its log:" >&2
	tail -50 "$dir/log/"*.log >&2 || true
	exit 1
	;;
stop)
	if [ -f "$dir/server.pid" ]; then
		pid=$(cat "$dir/server.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	;;
*)
	echo "usage: $0 start DIR PORT | stop DIR" >&2
	exit 2
	;;
esac
