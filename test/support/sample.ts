/** The sample data set every test run generates once: 3 days, 9,000 events, 300 songs. */
export const SAMPLE = {
  start: '2018-11-01',
  days: 3,
  eventsPerDay: 3000,
  songs: 300,
  seed: 20181101,
} as const;
