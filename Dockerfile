FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md manage.py ./
COPY config config
COPY gateway gateway
COPY protocols protocols
COPY consumers consumers
RUN pip install --no-cache-dir '.[postgres]' && useradd --system aprs
USER aprs
ENV BIND=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && exec aprs-gateway run"]
