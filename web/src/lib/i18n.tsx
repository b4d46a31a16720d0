/**
 * Labels in English and Hindi. The admin shows Hindi labels when the chosen business's
 * default language is Hindi (owners of a Hindi-first business read Hindi first); the
 * toggle in the header overrides it.
 */
import { createContext, useContext } from 'react';

export type UiLanguage = 'en' | 'hi';

const labels = {
  dashboard: { en: 'Dashboard', hi: 'डैशबोर्ड' },
  reservations: { en: 'Reservations', hi: 'बुकिंग' },
  calls: { en: 'Calls', hi: 'कॉल' },
  config: { en: 'Business config', hi: 'बिज़नेस सेटिंग' },
  tryIt: { en: 'Try it', hi: 'आज़माएँ' },
  reviews: { en: 'Reviews', hi: 'समीक्षा' },
  logout: { en: 'Log out', hi: 'लॉग आउट' },
  login: { en: 'Log in', hi: 'लॉग इन' },
  password: { en: 'Admin password', hi: 'एडमिन पासवर्ड' },
  business: { en: 'Business', hi: 'बिज़नेस' },
  day: { en: 'Day', hi: 'दिन' },
  today: { en: 'Today', hi: 'आज' },
  upcoming: { en: 'Upcoming reservations', hi: 'आने वाली बुकिंग' },
  reservationsOn: { en: 'Reservations on', hi: 'बुकिंग —' },
  coversPerSlot: { en: 'Covers per slot', hi: 'हर स्लॉट में मेहमान' },
  capacity: { en: 'Capacity', hi: 'क्षमता' },
  callsToday: { en: 'Calls today', hi: 'आज की कॉल' },
  handoffs: { en: 'Handoffs', hi: 'स्टाफ़ को सौंपी गई' },
  openCallbacks: { en: 'Open callback requests', hi: 'बाकी कॉल-बैक' },
  latency: { en: 'Turn latency', hi: 'जवाब का समय' },
  topSuggestions: { en: 'Top open suggestions', hi: 'मुख्य सुझाव' },
  name: { en: 'Name', hi: 'नाम' },
  phone: { en: 'Phone', hi: 'फ़ोन' },
  partySize: { en: 'Party size', hi: 'लोग' },
  date: { en: 'Date', hi: 'तारीख' },
  time: { en: 'Time', hi: 'समय' },
  notes: { en: 'Notes', hi: 'नोट' },
  status: { en: 'Status', hi: 'स्थिति' },
  search: { en: 'Search by name', hi: 'नाम से खोजें' },
  newReservation: { en: 'New reservation', hi: 'नई बुकिंग' },
  book: { en: 'Book', hi: 'बुक करें' },
  save: { en: 'Save', hi: 'सेव करें' },
  edit: { en: 'Edit', hi: 'बदलें' },
  cancel: { en: 'Cancel booking', hi: 'बुकिंग रद्द करें' },
  callbacks: { en: 'Callback requests', hi: 'कॉल-बैक अनुरोध' },
  none: { en: 'Nothing here yet.', hi: 'अभी कुछ नहीं।' },
  loading: { en: 'Loading…', hi: 'लोड हो रहा है…' },
  send: { en: 'Send', hi: 'भेजें' },
  start: { en: 'Start a conversation', hi: 'बातचीत शुरू करें' },
  at: { en: 'At (optional)', hi: 'समय (वैकल्पिक)' },
  slots: { en: 'Slots', hi: 'स्लॉट' },
  transcript: { en: 'Transcript', hi: 'बातचीत' },
  // Business config editor
  configFile: { en: 'File', hi: 'फ़ाइल' },
  thisBusiness: { en: 'This business', hi: 'यह बिज़नेस' },
  otherFiles: { en: 'Other files', hi: 'दूसरी फ़ाइलें' },
  check: { en: 'Check', hi: 'जाँचें' },
  discard: { en: 'Discard changes', hi: 'बदलाव हटाएँ' },
  unsaved: { en: 'Unsaved changes', hi: 'बदलाव सेव नहीं हुए' },
  problems: { en: 'Problems', hi: 'गलतियाँ' },
  noProblems: { en: 'No problems found.', hi: 'कोई गलती नहीं मिली।' },
  notSaved: { en: 'Not saved: fix the problems below. The live version keeps answering calls.', hi: 'सेव नहीं हुआ: नीचे की गलतियाँ ठीक करें। पुराना वर्ज़न कॉल का जवाब देता रहेगा।' },
  savedLive: { en: 'Saved and live: version', hi: 'सेव हो गया, अब लाइव: वर्ज़न' },
  liveVersion: { en: 'Live version', hi: 'लाइव वर्ज़न' },
  history: { en: 'Recent saves', hi: 'हाल के बदलाव' },
  showDiff: { en: 'Show changes', hi: 'बदलाव देखें' },
  hideDiff: { en: 'Hide changes', hi: 'बदलाव छिपाएँ' },
  revert: { en: 'Revert', hi: 'पहले जैसा करें' },
  line: { en: 'line', hi: 'पंक्ति' },
  saveAsTest: { en: 'Save as test', hi: 'टेस्ट के रूप में सेव करें' },
  testName: { en: 'Test name', hi: 'टेस्ट का नाम' },
  replaceTest: { en: 'Replace a test of that name', hi: 'इस नाम का टेस्ट बदल दें' },
  savedTest: { en: 'Saved as', hi: 'सेव हुआ:' },
  // Reviews, suggestions, the call page's review and the callbacks worked through.
  suggestions: { en: 'Suggestions', hi: 'सुझाव' },
  category: { en: 'Root cause', hi: 'मूल कारण' },
  all: { en: 'All', hi: 'सभी' },
  priority: { en: 'Priority', hi: 'प्राथमिकता' },
  score: { en: 'Score', hi: 'अंक' },
  issues: { en: 'Issues', hi: 'समस्याएँ' },
  summary: { en: 'Summary', hi: 'सारांश' },
  review: { en: 'Review', hi: 'समीक्षा' },
  recentReviews: { en: 'Reviews of the last 14 days', hi: 'पिछले 14 दिनों की समीक्षाएँ' },
  firstPage: { en: 'First page', hi: 'पहला पेज' },
  nextPage: { en: 'Next page', hi: 'अगला पेज' },
  noReviewYet: { en: 'Not reviewed yet (calls are reviewed after they end).', hi: 'अभी समीक्षा नहीं हुई (कॉल ख़त्म होने के बाद होती है)।' },
  openCall: { en: 'Open the call', hi: 'कॉल खोलें' },
  openInConfig: { en: 'Open in config editor', hi: 'सेटिंग में खोलें' },
  markImplemented: { en: 'Mark implemented', hi: 'लागू हो गया' },
  markRejected: { en: 'Reject', hi: 'अस्वीकार करें' },
  reopen: { en: 'Reopen', hi: 'फिर से खोलें' },
  proposedText: { en: 'Proposed text', hi: 'सुझाया गया पाठ' },
  statusPending: { en: 'pending', hi: 'बाकी' },
  statusImplemented: { en: 'implemented', hi: 'लागू' },
  statusRejected: { en: 'rejected', hi: 'अस्वीकृत' },
  statusContacted: { en: 'contacted', hi: 'संपर्क किया' },
  statusBooked: { en: 'booked', hi: 'बुक हुआ' },
  statusDeclined: { en: 'declined', hi: 'मना किया' },
  staffNote: { en: 'Staff note', hi: 'स्टाफ़ नोट' },
  catKnowledgeGap: { en: 'Knowledge gap', hi: 'जानकारी की कमी' },
  catPromptWeakness: { en: 'Weak prompt', hi: 'कमज़ोर संवाद' },
  catUxIssue: { en: 'Caller experience', hi: 'कॉलर का अनुभव' },
  catSttError: { en: 'Speech recognition', hi: 'आवाज़ पहचान' },
  catTtsIssue: { en: 'Bot voice', hi: 'बॉट की आवाज़' },
  catConfigError: { en: 'Config error', hi: 'सेटिंग की गलती' },
  heardInFull: { en: 'heard in full', hi: 'पूरा सुना' },
  interrupted: { en: 'interrupted by the caller', hi: 'कॉलर ने बीच में रोका' },
  meantToSay: { en: 'Meant to say', hi: 'कहना था' },
  ttsFallback: { en: 'Voice fallback', hi: 'दूसरी आवाज़' },
  configErrors: { en: 'Config errors', hi: 'सेटिंग की गलतियाँ' },
  corrected: { en: 'Caller corrected', hi: 'कॉलर ने सुधारा' },
} as const;

export type LabelKey = keyof typeof labels;

export function label(key: LabelKey, language: UiLanguage): string {
  return labels[key][language];
}

export const LanguageContext = createContext<UiLanguage>('en');

/** The label for `key` in the admin's current language. */
export function useT(): (key: LabelKey) => string {
  const language = useContext(LanguageContext);
  return (key) => label(key, language);
}
