import { announce, byId, keepRoomForStatus } from './dom';
import { go, route, startRouter } from './router';
import { resumeSession, signOut } from './shell';
import { doorView } from './views/door';
import { eventView } from './views/event';
import { homeView } from './views/home';
import { manageView } from './views/manage';
import { organizerView } from './views/organizer';
import { queueView } from './views/queue';
import { ticketsView } from './views/tickets';

// The box office: a header, one live region, and views by URL hash. A new page is one `route` line here.
route('/', homeView);
route('/events/:id', eventView);
route('/tickets', ticketsView);
route('/organizer', organizerView);
route('/organizer/events/:id', manageView);
route('/door/:id', doorView);
route('/queue/:id', queueView);

byId('logout').addEventListener('click', () => {
  signOut();
  // The pages of a signed-in user have nothing to show now: back to the events and the login form.
  go('/');
  announce('You are logged out.');
});

// The live region sits at the bottom of the screen: the page keeps room for it below its content, and
// scrolling (to a focused field too) stops short of it.
// The region also changes height when its text wraps anew (a turned phone): the observer follows that.
new ResizeObserver(keepRoomForStatus).observe(byId('status'));

void resumeSession().then(startRouter);
