# Browser libraries (Leaflet) from npm, pinned by package-lock.json.
FROM node:20-slim AS web
WORKDIR /web
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md manage.py ./
COPY config config
COPY gateway gateway
COPY protocols protocols
COPY consumers consumers
COPY --from=web /web/node_modules /app/node_modules
RUN pip install --no-cache-dir '.[postgres]' && useradd --system aprs
USER aprs
ENV BIND=0.0.0.0 PORT=8000 NODE_MODULES=/app/node_modules
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && exec aprs-gateway run"]
