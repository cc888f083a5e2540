# The worker image (also used for the one-shot db-init and schedule services in docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Dev dependencies (jest, types) are not needed to run; the TypeScript sources run through tsx.
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY sql ./sql
RUN npx tsx src/cli/build-workflow-bundle.ts /app/dist/workflow-bundle.js
ENV WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
USER node
EXPOSE 9464
CMD ["npm", "run", "-s", "worker"]
