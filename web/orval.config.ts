import { defineConfig } from 'orval';

// The client is generated from the document the server itself serves (`vartalaap openapi`,
// fetched by scripts/openapi.mjs), never written by hand: the admin can use only what
// /openapi.json describes.
export default defineConfig({
  vartalaap: {
    input: { target: './src/api/generated/openapi.json' },
    output: {
      mode: 'single',
      target: './src/api/generated/client.ts',
      client: 'react-query',
      httpClient: 'fetch',
      clean: false,
      override: {
        mutator: { path: './src/api/fetcher.ts', name: 'apiFetch' },
        query: { useQuery: true, useMutation: true },
        fetch: { includeHttpResponseReturnType: false },
      },
    },
  },
});
