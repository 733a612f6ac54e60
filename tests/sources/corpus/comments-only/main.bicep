// TODO: write this template
/* nothing here yet */
