#!/usr/bin/env bash
# Login roles with passwords, for the postgres image's first start: docker
# compose and the Kubernetes dev overlay mount it as
# /docker-entrypoint-initdb.d/20-logins.sh, after 10-roles.sql (roles.sql),
# which created the groups it grants. Production does not use it:
# CloudNativePG creates saas_owner (bootstrap.initdb) and the service logins
# (spec.managed.roles) from Secrets.
#
# Passwords come from the environment and reach psql as variables (never
# spliced into SQL text). They end up inside DATABASE_URLs, so keep them
# URL-safe: `openssl rand -hex 24`.
set -eo pipefail

for v in SAAS_DB_OWNER_PASSWORD SAAS_DB_CONFIG_VAULT_PASSWORD SAAS_DB_UAM_PASSWORD SAAS_DB_IAM_PASSWORD SAAS_DB_CONTENT_PASSWORD; do
	if [ -z "${!v}" ]; then
		echo "logins.sh: $v is not set" >&2
		exit 1
	fi
done

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-saas}" \
	-v owner="$SAAS_DB_OWNER_PASSWORD" \
	-v config_vault="$SAAS_DB_CONFIG_VAULT_PASSWORD" \
	-v uam="$SAAS_DB_UAM_PASSWORD" \
	-v iam="$SAAS_DB_IAM_PASSWORD" \
	-v content="$SAAS_DB_CONTENT_PASSWORD" <<'SQL'
ALTER ROLE saas_owner LOGIN PASSWORD :'owner';

SELECT format('CREATE ROLE %I LOGIN IN ROLE %I', login, grp)
FROM (VALUES ('config_vault', 'saas_config_vault'), ('uam', 'saas_uam'), ('iam', 'saas_iam'), ('content', 'saas_content'))
     AS l(login, grp)
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = login)
\gexec

ALTER ROLE config_vault LOGIN PASSWORD :'config_vault';
ALTER ROLE uam LOGIN PASSWORD :'uam';
ALTER ROLE iam LOGIN PASSWORD :'iam';
ALTER ROLE content LOGIN PASSWORD :'content';
SQL
